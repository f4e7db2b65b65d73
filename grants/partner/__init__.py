"""Therapy and nonprofit partners: confirming delivered sessions."""

from flask import Blueprint

from grants.core.models.people import Role
from grants.security import require_role

bp = Blueprint("partner", __name__, url_prefix="/partner")
bp.before_request(require_role(Role.PARTNER))


@bp.before_request
def _belongs_to_a_partner():
    # A partner login acts for exactly one partner; without one it can see nothing.
    from flask import abort
    from flask_login import current_user

    if current_user.partner_id is None:
        abort(403)


from grants.partner import views  # noqa: E402,F401
