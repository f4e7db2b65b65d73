"""Every table of the application, importable from one place (Alembic needs them all)."""

from grants.core.models.audit import AuditEntry
from grants.core.models.ledger import Account, Ledger, Transfer
from grants.core.models.people import ROLES, Role, User, UserRole

__all__ = ["ROLES", "Account", "AuditEntry", "Ledger", "Role", "Transfer", "User", "UserRole"]
