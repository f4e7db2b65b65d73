from flask import render_template

from grants.partner import bp


@bp.route("/")
def home():
    return render_template("partner/home.html")
