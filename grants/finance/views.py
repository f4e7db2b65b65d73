from flask import render_template

from grants.finance import bp


@bp.route("/")
def home():
    return render_template("finance/home.html")
