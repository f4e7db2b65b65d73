from flask import render_template

from grants.resources import bp


@bp.route("/")
def index():
    return render_template("resources/index.html")
