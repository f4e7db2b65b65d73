"""The public hub of crisis lines and mental-health support. No login needed."""

from flask import Blueprint

bp = Blueprint("resources", __name__, url_prefix="/resources")

from grants.resources import views, words  # noqa: E402


@bp.record_once
def _register_words(state) -> None:
    # The wallet home and the staff pages show entries too: the helpers are app-wide.
    words.init_app(state.app)


__all__ = ["bp", "views"]
