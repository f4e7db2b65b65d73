"""Therapy and nonprofit partners: confirming delivered sessions."""

from flask import Blueprint

from grants.core.models.people import Role
from grants.security import require_role

bp = Blueprint("partner", __name__, url_prefix="/partner")
bp.before_request(require_role(Role.PARTNER))

from grants.partner import views  # noqa: E402,F401
