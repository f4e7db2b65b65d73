"""The public hub of crisis lines and mental-health support. No login needed."""

from flask import Blueprint

bp = Blueprint("resources", __name__, url_prefix="/resources")

from grants.resources import views  # noqa: E402,F401
