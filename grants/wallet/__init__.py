"""Ambassadors' and gift recipients' own credits."""

from flask import Blueprint

from grants.core.models.people import Role
from grants.security import require_role

bp = Blueprint("wallet", __name__, url_prefix="/wallet")
bp.before_request(require_role(Role.AMBASSADOR, Role.RECIPIENT))

from grants.wallet import bookings, gifts, views  # noqa: E402,F401
