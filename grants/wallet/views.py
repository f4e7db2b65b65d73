from flask import render_template
from flask_login import current_user
from sqlalchemy import select

from grants.core.models.ledger import Account, Ledger
from grants.database import db
from grants.wallet import bp


@bp.route("/")
def home():
    rows = db.execute(
        select(Account, Ledger)
        .join(Ledger, Ledger.id == Account.ledger_id)
        .where(Account.user_id == current_user.id, Account.code == "wallet")
        .order_by(Ledger.name)
    ).all()
    return render_template("wallet/home.html", wallets=rows)
