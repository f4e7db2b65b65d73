"""Delivering the outbox: each message rendered from its templates and sent by SMTP
(Flask-Mail), or printed to the terminal when `make run` has no mail server.

Messages are claimed (and the claim committed) before any network call, sent one by one
over one connection, and each outcome is recorded in its own short transaction.
"""

from __future__ import annotations

import smtplib
import sys
from dataclasses import dataclass, field
from email.charset import QP, Charset
from email.mime.text import MIMEText

from flask import Flask, current_app, g, render_template
from flask_babel import lazy_gettext as _l
from flask_mail import Connection, Mail, Message
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core import outbox
from grants.core.db import commit_with_retry
from grants.core.models.cohorts import Enrolment, EnrolmentStatus
from grants.core.models.funding import Grant
from grants.core.models.gifts import Gift, GiftStatus
from grants.core.models.outbox import OutboxMessage
from grants.core.models.people import User
from grants.core.tokens import make_token
from grants.i18n import in_locale

mail = Mail()

# Sent straight after a web request; anything beyond waits for `flask outbox send`.
SEND_AFTER_REQUEST = 20

# Each subject is translated when its message is rendered, in the recipient's language;
# %(name)s placeholders take values from the message's context.
SUBJECTS = {
    "invitation": _l("Your invitation to %(programme)s"),
    "password_reset": _l("Choose a new password"),
    "funding_decided": _l("An update on your request"),
    "gift_received": _l("%(giver)s sent you a gift"),
    "gift_update": _l("An update on your gift"),
    "resources_due": _l("Resource hub: entries due a check"),
}


class _Message(Message):
    """Flask-Mail's message with its text parts quoted-printable, so no line is longer than
    76 characters: SMTP refuses a line over 998 bytes, and a message someone typed as one
    long paragraph (a decline, a gift's note with emoji) would otherwise make one."""

    def _mimetext(self, text, subtype="plain"):
        charset = Charset("utf-8")
        charset.body_encoding = QP
        return MIMEText(text, _subtype=subtype, _charset=charset)


class NoLongerApplicable(Exception):
    """What the message was about has changed (an invitation withdrawn): do not send it."""


@dataclass
class DeliveryReport:
    """What a run of the sender did, for the operator's terminal and logs (in English, like
    the command line; no recipient reads it)."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def note(self, message_id: int, error: str) -> None:
        self.errors.append(_operator_line(message_id, error))


def _operator_line(message_id: int, error: str) -> str:
    return f"message {message_id}: {error}"


def init_app(app: Flask) -> None:
    mail.init_app(app)
    app.after_request(_send_after_response)


def _send_after_response(response):
    """Deliver what this request committed once the response has gone to the browser, so
    no one waits on the mail server and timing says nothing about who has an account."""
    session: Session | None = g.get("db_session")
    ids = session.info.pop("outbox_committed", None) if session is not None else None
    if ids and current_app.config["MAIL_BACKEND"] != "none":
        app = current_app._get_current_object()

        def deliver_now() -> None:
            with app.app_context():
                deliver(ids=ids[:SEND_AFTER_REQUEST])

        response.call_on_close(deliver_now)
    return response


def deliver(*, ids: list[int] | None = None, limit: int = 100) -> DeliveryReport:
    """Send up to `limit` due messages (or the due ones among `ids`)."""
    maker = current_app.extensions["grants.sessionmaker"]
    with maker() as session:
        token, claimed = commit_with_retry(
            session, lambda: outbox.claim(session, ids=ids, limit=limit)
        )
    return send_claimed(token, claimed)


def send_claimed(token: str, claimed: list[int]) -> DeliveryReport:
    """Send messages claimed under `token`, one by one over one connection. A message whose
    claim was taken over (its lease ran out) is left to whoever holds it now."""
    report = DeliveryReport()
    if not claimed:
        return report
    pending = list(claimed)
    try:
        with _connection() as connection:
            while pending:
                _send_one(connection, pending[0], token, report)
                pending.pop(0)
    except (OSError, smtplib.SMTPException) as error:
        # The server went away (or never answered): whatever is left is tried again later.
        for message_id in pending:
            _record(message_id, token, report, error=_describe(error), permanent=False)
    return report


def _connection():
    if current_app.config["MAIL_BACKEND"] == "console":
        return _Console()
    return _TimedConnection(current_app.extensions["mail"])


class _TimedConnection(Connection):
    """Flask-Mail's connection, with a timeout so a silent server cannot hang a worker."""

    def configure_host(self):
        config = current_app.config
        kind = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
        host = kind(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
        if config["MAIL_USE_TLS"]:
            host.starttls()
        if config["MAIL_USERNAME"] and config["MAIL_PASSWORD"]:
            host.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        return host


class _Console:
    """For `make run` without a mail server: print each email to the terminal."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def send(self, message: Message) -> None:
        print(
            f"\n--- email to {', '.join(message.recipients)}: {message.subject}\n"
            f"{message.body}\n---",
            file=sys.stderr,
            flush=True,
        )


def _send_one(connection, message_id: int, token: str, report: DeliveryReport) -> None:
    maker = current_app.extensions["grants.sessionmaker"]
    with maker() as session:
        row = session.get(OutboxMessage, message_id)
        try:
            message = _render(session, row)
        except NoLongerApplicable as reason:
            session.rollback()
            _record(message_id, token, report, error=str(reason), permanent=True, forget=True)
            return
        except Exception as error:  # a template or data problem: keep it and say why
            session.rollback()
            current_app.logger.error(
                "could not render outbox message %s: %s", message_id, type(error).__name__
            )
            _record(message_id, token, report, error=f"render: {_describe(error)}", permanent=False)
            return
        # Still ours? (A sender slower than its lease has been taken over.) The renewal is
        # committed before the network call, which also releases SQLite's write lock.
        still_ours = commit_with_retry(session, lambda: outbox.renew(session, message_id, token))
    if not still_ours:
        return
    try:
        connection.send(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _text in error.recipients.values()]
        _record(
            message_id,
            token,
            report,
            error=_describe(error),
            permanent=all(code >= 500 for code in codes),
        )
    except smtplib.SMTPResponseException as error:
        _record(message_id, token, report, error=_describe(error), permanent=error.smtp_code >= 500)
    except (OSError, smtplib.SMTPException):
        raise  # the connection itself failed: the caller retries the rest later
    except Exception as error:
        # Something about this one message (an address SMTP cannot carry, a bad header):
        # it will not go better next time, and must not hold up the others.
        _record(message_id, token, report, error=_describe(error), permanent=True)
    else:
        _record(message_id, token, report)


def _record(
    message_id: int,
    token: str,
    report: DeliveryReport,
    *,
    error: str | None = None,
    permanent: bool = False,
    forget: bool = False,
) -> None:
    maker = current_app.extensions["grants.sessionmaker"]
    with maker() as session:
        if error is None:
            commit_with_retry(session, lambda: outbox.mark_sent(session, message_id, token))
            report.sent += 1
            return
        commit_with_retry(
            session,
            lambda: outbox.mark_failed(
                session, message_id, token, error, permanent=permanent, forget=forget
            ),
        )
    report.note(message_id, error)
    if permanent:
        report.failed += 1
    else:
        report.retrying += 1


def _describe(error: BaseException) -> str:
    # Error text from the mail server may quote the address; keep the type and code only.
    code = getattr(error, "smtp_code", None)
    return f"{type(error).__name__}{f' {code}' if code else ''}"


# --- rendering --------------------------------------------------------------------------


def _render(session: Session, row: OutboxMessage) -> Message:
    context = CONTEXTS[row.template](session, row.params)
    # In the recipient's language: their own saved choice where the context found one (a
    # password reset looks the account up only now), else the one queued with the message.
    locale = context.pop("recipient_locale", None) or row.locale
    with in_locale(locale):
        subject = SUBJECTS[row.template] % context
        body = render_template(f"email/{row.template}.txt", **context)
        html = render_template(f"email/{row.template}.html", **context)
    message = _Message(
        subject=subject,
        recipients=[row.to_address],
        body=body,
        html=html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )
    # The same Message-ID on every attempt: a receiving server can drop a repeat.
    message.msgId = f"<outbox-{row.id}.{int(row.created_at.timestamp())}@grants>"
    return message


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an email, from BASE_URL (never the request's Host header)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def _invitation(session: Session, params: dict) -> dict:
    enrolment = session.get(Enrolment, params["enrolment_id"])
    if (
        enrolment is None
        or enrolment.status != EnrolmentStatus.INVITED
        or enrolment.invite_nonce != params["nonce"]
    ):
        raise NoLongerApplicable("the invitation was withdrawn or replaced before sending")
    token = make_token(
        current_app.config["SECRET_KEY"],
        "invitation",
        {"e": enrolment.id, "n": enrolment.invite_nonce},
    )
    return {
        "name": enrolment.user.name,
        "programme": enrolment.cohort.programme.code,
        "cohort": enrolment.cohort.name,
        "link": external_url("auth.invitation", token=token),
        "days": current_app.config["INVITATION_MAX_AGE"] // 86400,
    }


def _password_reset(session: Session, params: dict) -> dict:
    # Looked up only now, after the response went: asking for a link answers alike, and
    # takes alike, whether or not the address has an account.
    user = session.scalar(select(User).where(User.email == params["email"]))
    if user is None or not user.active:
        raise NoLongerApplicable("no active account uses that address")
    token = make_token(
        current_app.config["SECRET_KEY"],
        "password-reset",
        {"u": user.id, "g": user.session_generation},
    )
    return {
        "recipient_locale": user.language,  # their choice, else their browser's at login
        "name": user.name,
        "link": external_url("auth.reset_password", token=token),
        "minutes": current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
    }


def _funding_decided(session: Session, params: dict) -> dict:
    grant = session.get(Grant, params["grant_id"])
    if grant is None:
        raise NoLongerApplicable("the request no longer exists")
    return {
        "name": grant.user.name,
        "cohort": grant.cohort.name,
        "grant": grant,
        "link": external_url("wallet.home"),
    }


def _gift_received(session: Session, params: dict) -> dict:
    gift = session.get(Gift, params["gift_id"])
    if gift is None or gift.status != GiftStatus.PENDING or gift.nonce != params["nonce"]:
        raise NoLongerApplicable("the gift was answered or revoked before sending")
    token = make_token(current_app.config["SECRET_KEY"], "gift", {"g": gift.id, "n": gift.nonce})
    return {
        "name": gift.recipient_name,
        "giver": gift.giver.name,
        "gift": gift,
        "link": external_url("auth.gift_link", token=token),
    }


def _gift_update(session: Session, params: dict) -> dict:
    # The giver hears the gift's state, and nothing of what became of the sessions.
    gift = session.get(Gift, params["gift_id"])
    if gift is None:
        raise NoLongerApplicable("the gift no longer exists")
    return {
        "name": gift.giver.name,
        "recipient": gift.recipient_name,
        "gift": gift,
        "link": external_url("wallet.home"),
    }


def _resources_due(session: Session, params: dict) -> dict:
    # Told by the scheduled resource check (grants.core.stale_resources): a count only.
    user = session.get(User, params["user_id"])
    if user is None or not user.active:
        raise NoLongerApplicable("the member of staff is no longer active")
    return {
        "recipient_locale": user.language,
        "name": user.name,
        "count": params["count"],
        "link": external_url("staff.resources", show="stale"),
    }


CONTEXTS = {
    "gift_received": _gift_received,
    "gift_update": _gift_update,
    "invitation": _invitation,
    "password_reset": _password_reset,
    "funding_decided": _funding_decided,
    "resources_due": _resources_due,
}
