from flask import render_template

from grants.staff import bp


@bp.route("/")
def home():
    return render_template("staff/home.html")
