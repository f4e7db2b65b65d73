"""Finance: payouts to partners and their reports."""

from flask import Blueprint

from grants.core.models.people import Role
from grants.security import require_role

bp = Blueprint("finance", __name__, url_prefix="/finance")
bp.before_request(require_role(Role.FINANCE))

from grants.finance import batches, views  # noqa: E402,F401
