"""Finance home: what is owed and paid, as tables and as charts of the same figures."""

from datetime import UTC, date, datetime, time

from flask import render_template
from sqlalchemy import func, select

from grants.core.clock import clock
from grants.core.models.cohorts import Cohort
from grants.core.models.ledger import Account, Ledger, Transfer
from grants.core.models.partners import Partner, SessionTotal
from grants.core.models.programmes import Programme
from grants.core.money_ledger import PAYABLE
from grants.database import db
from grants.finance import bp


def _owed():
    return db.execute(
        select(
            Partner.name,
            Ledger.unit,
            Account.credits_posted - Account.debits_posted - Account.debits_pending,
        )
        .join(Account, Account.partner_id == Partner.id)
        .join(Ledger, Ledger.id == Account.ledger_id)
        .where(Account.code == PAYABLE)
        .order_by(Ledger.unit, Partner.name)
    ).all()


def _paid_since(since: date):
    """Posted payouts (money out of payables) since `since`, per currency."""
    return db.execute(
        select(Ledger.unit, func.sum(Transfer.amount))
        .join(Account, Account.id == Transfer.debit_account_id)
        .join(Ledger, Ledger.id == Transfer.ledger_id)
        .where(
            # Every payable is a partner's: saying so lets the database find the few payables
            # through the partner index instead of reading every wallet, then their payouts
            # through the debit-account index.
            Account.partner_id.is_not(None),
            Account.code == PAYABLE,
            Transfer.kind == "post",
            Transfer.created_at >= datetime.combine(since, time(), UTC),
        )
        .group_by(Ledger.unit)
        .order_by(Ledger.unit)
    ).all()


def _sessions_by(column):
    """(key, currency, sessions, value) per `column`, from the running totals: a row per
    cohort and month, however many sessions there have been."""
    return db.execute(
        select(
            column,
            SessionTotal.currency,
            func.sum(SessionTotal.sessions),
            func.sum(SessionTotal.amount),
        )
        .join(Cohort, Cohort.id == SessionTotal.cohort_id)
        .join(Programme, Programme.id == Cohort.programme_id)
        .group_by(column, SessionTotal.currency)
        .order_by(column, SessionTotal.currency)
    ).all()


@bp.route("/")
def home():
    today = clock.now().date()
    by_month = [
        (f"{month:%Y-%m}", currency, sessions, amount)
        for month, currency, sessions, amount in _sessions_by(SessionTotal.month)
    ]
    return render_template(
        "finance/home.html",
        owed=_owed(),
        paid_month=_paid_since(today.replace(day=1)),
        paid_year=_paid_since(today.replace(month=1, day=1)),
        by_programme=_sessions_by(Programme.code),
        by_region=_sessions_by(Cohort.region),
        by_month=by_month,
    )
