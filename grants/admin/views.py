from flask import render_template
from sqlalchemy import func, select

from grants.admin import bp
from grants.core.models.people import User
from grants.database import db
from grants.web import page_number

PAGE_SIZE = 50


@bp.route("/")
def home():
    page = page_number()
    total = db.scalar(select(func.count()).select_from(User)) or 0
    users = db.scalars(
        select(User).order_by(User.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template("admin/home.html", users=users, page=page, pages=pages, total=total)
