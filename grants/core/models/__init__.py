"""Every table of the application, importable from one place (Alembic needs them all)."""

from grants.core.models.audit import AuditEntry
from grants.core.models.cohorts import Cohort, CohortStatus, Enrolment, EnrolmentStatus
from grants.core.models.funding import Grant, GrantKind, GrantStatus
from grants.core.models.gifts import Gift, GiftStatus
from grants.core.models.imports import EnrolmentImport
from grants.core.models.jobs import JobRun
from grants.core.models.ledger import Account, Ledger, Transfer
from grants.core.models.outbox import OutboxMessage, OutboxStatus
from grants.core.models.partners import (
    Partner,
    PartnerGrant,
    PartnerGrantStatus,
    PartnerRegion,
    SessionTotal,
    Voucher,
    VoucherStatus,
)
from grants.core.models.payouts import (
    BatchStatus,
    LineStatus,
    PayoutBatch,
    PayoutItem,
    PayoutLine,
)
from grants.core.models.people import ROLES, Role, User, UserRole
from grants.core.models.programmes import ConsentText, Programme
from grants.core.models.resources import EmergencyNumber, Resource
from grants.core.models.sessions import LoginSession, RecoveryCode

__all__ = [
    "ROLES",
    "Account",
    "AuditEntry",
    "BatchStatus",
    "Cohort",
    "CohortStatus",
    "ConsentText",
    "EmergencyNumber",
    "Enrolment",
    "EnrolmentImport",
    "EnrolmentStatus",
    "Gift",
    "GiftStatus",
    "Grant",
    "GrantKind",
    "GrantStatus",
    "JobRun",
    "Ledger",
    "LineStatus",
    "LoginSession",
    "OutboxMessage",
    "OutboxStatus",
    "Partner",
    "PartnerGrant",
    "PartnerGrantStatus",
    "PartnerRegion",
    "PayoutBatch",
    "PayoutItem",
    "PayoutLine",
    "Programme",
    "RecoveryCode",
    "Resource",
    "Role",
    "SessionTotal",
    "Transfer",
    "User",
    "UserRole",
    "Voucher",
    "VoucherStatus",
]
