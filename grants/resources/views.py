"""The public hub: search and filter the directory, the visitor's country first, that
country's emergency number above its list."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import select

from grants.core import resources as directory
from grants.core.countries import country_names
from grants.core.models.cohorts import Enrolment
from grants.database import db
from grants.i18n import current_language
from grants.resources import bp
from grants.resources.words import CHANNEL_LABELS, TOPIC_LABELS


def visitor_country() -> str | None:
    """The visitor's country: from their profile (the country on their latest enrolment),
    else the region of their browser's language ("es-MX" -> MX)."""
    if current_user.is_authenticated:
        country = db.scalar(
            select(Enrolment.country)
            .where(Enrolment.user_id == current_user.id)
            .order_by(Enrolment.id.desc())
            .limit(1)
        )
        if country:
            return country
    for value, _quality in request.accept_languages:
        _language, _sep, region = value.replace("_", "-").partition("-")
        region = region.split("-")[-1].upper()
        if region in country_names():
            return region
    return None


def _choice(name: str, allowed) -> str | None:
    value = (request.args.get(name) or "").strip()
    return value if value in allowed else None


@bp.route("/")
def index():
    locale = current_language()
    names = directory.localised_country_names(locale)
    listed = directory.countries_listed(db)
    search = directory.Search(
        country=_choice("country", listed),
        language=_choice("language", _languages_listed()),
        topic=_choice("topic", directory.TOPICS),
        channel=_choice("channel", directory.CHANNEL_KINDS),
        query=(request.args.get("q") or "").strip()[:100],
    )
    home = visitor_country()
    groups = directory.find(db, search, visitor_country=home, locale=locale)
    return render_template(
        "resources/index.html",
        search=search,
        groups=groups,
        home=home,
        home_emergency=directory.emergency_number(db, home),
        countries=sorted(listed, key=lambda code: (code != home, names.get(code, code))),
        country_names=names,
        languages=_languages_listed(),
        topics=TOPIC_LABELS,
        channels=CHANNEL_LABELS,
        filtered=bool(request.args),
    )


def _languages_listed() -> list[str]:
    from grants.core.models.resources import Resource

    seen: set[str] = set()
    for languages in db.scalars(select(Resource.languages).where(Resource.retired_at.is_(None))):
        seen.update(languages)
    return sorted(seen)
