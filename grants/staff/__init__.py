"""Programme staff: cohorts, enrolments and grant approvals."""

from flask import Blueprint

from grants.core.models.people import Role
from grants.security import require_role

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.before_request(require_role(Role.STAFF))

from grants.staff import (  # noqa: E402,F401
    enrolments,
    imports,
    partner_grants,
    requests,
    resources,
    views,
)
