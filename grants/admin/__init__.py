"""Administration: people, roles, programmes, partners and the audit log."""

from flask import Blueprint

from grants.core.models.people import Role
from grants.security import require_role

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_role(Role.ADMIN))

from grants.admin import audit_log, partners, programmes, users, views  # noqa: E402,F401
