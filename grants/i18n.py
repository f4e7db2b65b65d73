"""The app in its readers' languages: Flask-Babel, the locale each request is read in, the
language switch, and the bridge that lets the core's messages (grants.core.i18n) be read
in the reader's language.

The locale is, in order: the person's own setting, the language they picked on this
browser (the switch, before logging in), their browser's Accept-Language, then English.
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import Babel, force_locale, get_locale, get_translations
from flask_babel import gettext as _
from flask_login import current_user

from grants.core import i18n as core_i18n

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"

# The languages the app is complete in, with each one's name in itself (how a reader
# looks for their language in a switch). English is the source language.
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}

babel = Babel()
bp = Blueprint("i18n", __name__)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    # Whitespace inside {% trans %} blocks is collapsed, so message ids stay one line
    # however a template wraps them.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_locale"] = current_language
    # A core message (grants.core.i18n.Message) printed by a template is shown in the
    # reader's language; `translated` does the same inside filters such as join.
    app.jinja_env.finalize = _finalize
    app.jinja_env.filters["translated"] = core_i18n.translate
    app.register_blueprint(bp)
    core_i18n.install(translate_message)


def _finalize(value):
    return core_i18n.translate(value) if isinstance(value, core_i18n.Message) else value


def supported(code: str | None) -> str | None:
    """`es-MX` -> `es`; None for a language the app does not speak."""
    if not code:
        return None
    language = code.replace("-", "_").split("_")[0].lower()
    return language if language in LANGUAGES else None


def select_locale() -> str | None:
    if not has_request_context():
        return None  # the CLI, outside a force_locale block: the default (English)
    wanted = getattr(current_user, "locale", None) if current_user else None
    if supported(wanted):
        return supported(wanted)
    if supported(session.get("locale")):
        return supported(session["locale"])
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


def translate_message(message: core_i18n.Message) -> str | None:
    """The core's English message in the current reader's language (None outside a
    request or a `force_locale` block: the English stands)."""
    locale = get_locale()
    if locale is None:
        return None
    translations = get_translations()
    if message.plural is not None:
        template = translations.ungettext(message.msgid, message.plural, message.num)
    else:
        template = translations.ugettext(message.msgid)
    return core_i18n.fill(template, message.params, str(locale))


def in_locale(locale: str | None):
    """Render something (an email) in a given person's language."""
    return force_locale(supported(locale) or current_app.config["BABEL_DEFAULT_LOCALE"])


@bp.post("/language")
def switch_language():
    """The language switch in every page's footer. A signed-in person's choice is saved to
    their account; before login it lasts for this browser's session."""
    from grants.core import audit
    from grants.database import db
    from grants.forms import ActionForm

    form = ActionForm()
    chosen = supported(request.form.get("language"))
    back = _safe_back(request.form.get("next"))
    if not form.validate_on_submit() or chosen is None:
        flash(_("That language could not be chosen. Please try again."), "error")
        return redirect(back)
    session["locale"] = chosen
    if current_user.is_authenticated and current_user.locale != chosen:
        user = current_user._get_current_object()  # loaded through this request's session
        audit.record(db, user, "user.language_changed", user, before=user.locale, after=chosen)
        user.locale = chosen
        db.commit()
    return redirect(back)


def _safe_back(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    from grants.security import safe_next

    return safe_next(target) or url_for("home.index")
