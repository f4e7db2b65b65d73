from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from grants.admin import bp
from grants.core.models.people import User
from grants.listing import Order, paginate, sort_from_request

PAGE_SIZE = 50
# Accounts in the order they were made, or by name or email.
ORDERS = {
    "added": Order((User.id,), words=(_l("oldest first"), _l("newest first"))),
    "name": Order((func.lower(User.name), User.id), words=(_l("by name"), _l("by name, Z to A"))),
    "email": Order((User.email, User.id), words=(_l("by email"), _l("by email, Z to A"))),
}


@bp.route("/")
def home():
    sort = sort_from_request(ORDERS, "added")
    listed = paginate(select(User).order_by(*sort.order_by()), PAGE_SIZE)
    return render_template(
        "admin/home.html",
        users=listed.items,
        sort=sort,
        **listed.place,
    )
