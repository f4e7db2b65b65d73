"""The site root sends each person to where their work is."""

from flask import Blueprint, redirect, url_for
from flask_login import current_user

from grants.security import home_url

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("auth.login"))
