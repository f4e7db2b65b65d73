"""Logs: one JSON object a line under production (for a log collector), a readable line in
development, and one line per request: its id, route, method, status, duration and user id.

The data says that a named person uses therapy, so logs carry ids and nothing else about a
person: a request is logged by its URL rule ("/auth/reset/<token>"), never its path or query
string (tokens, searches, addresses); an exception by its type and stack, never its message
(which may quote the value it choked on); no form field, header or cookie is logged.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from sqlalchemy import inspect

REQUEST_ID_HEADER = "X-Request-ID"
# A request id from the proxy in front is kept if it looks like one (nginx's $request_id,
# a UUID): letters, digits and dashes, 8 to 64 of them. Anything else is replaced, so a
# client cannot write into the logs through it.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
# The fields a request's line carries, beside the time, level, logger and message.
REQUEST_FIELDS = ("request_id", "method", "route", "status", "duration_ms", "user_id")
# Health probes come every few seconds: their successes only at DEBUG.
QUIET_ENDPOINTS = {"health.healthz", "health.readyz"}

requests_log = logging.getLogger("grants.requests")


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (a test's capture, a worker's
    redirected stream), not the stream there was when logging was set up."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


class RequestIdFilter(logging.Filter):
    """Every record written while a request is served carries that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and has_request_context():
            record.request_id = g.get("request_id")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request's fields, and for
    an exception its type and the frames it passed through (never its message)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in REQUEST_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info and record.exc_info[0] is not None:
            kind, _error, stack = record.exc_info
            entry["error"] = kind.__name__
            # Where it happened, frame by frame, without the source lines: a line of code
            # is not data, but frames are all an operator needs and stay one short line each.
            entry["stack"] = [
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(stack)
            ]
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A readable line for a terminal: `12:03:04 INFO grants.requests: GET /wallet/ 200
    12 ms user 3 [request id]`. Exceptions in full (development only)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        if getattr(record, "duration_ms", None) is not None:
            line += f" {record.duration_ms} ms"
        if getattr(record, "user_id", None) is not None:
            line += f" user {record.user_id}"
        if getattr(record, "request_id", None):
            line += f" [{record.request_id}]"
        return line


def configure(log_format: str | None, level: str) -> None:
    """Send every logger's records (the app's, the libraries') to standard error in
    `log_format` from `level` up. None leaves logging alone (tests capture it themselves).
    Calling it again replaces what an earlier call set up, never adds to it."""
    if log_format is None:
        return
    root = logging.getLogger()
    unconfigure()
    handler = StderrHandler()
    handler.grants = True
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)


def unconfigure() -> None:
    """Take away what `configure` set up (tests, between one app and the next)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "grants", False)]:
        root.removeHandler(handler)


def init_app(app: Flask) -> None:
    """Set up logging from LOG_FORMAT and LOG_LEVEL, and log each request. Call it first in
    the factory: its before-request hook then runs before any other (so the clock starts
    before anything can refuse the request) and its after-request hook after all others."""
    configure(app.config.get("LOG_FORMAT"), app.config.get("LOG_LEVEL", "INFO"))
    trust_header = bool(app.config.get("PROXY_HOPS"))

    @app.before_request
    def _start():
        g.request_started = time.perf_counter()
        given = request.headers.get(REQUEST_ID_HEADER, "") if trust_header else ""
        g.request_id = given if SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def _log(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        quiet = request.endpoint in QUIET_ENDPOINTS and response.status_code < 400
        level = logging.WARNING if response.status_code >= 500 else logging.INFO
        level = logging.DEBUG if quiet else level
        if not requests_log.isEnabledFor(level):
            return response
        route = request.url_rule.rule if request.url_rule is not None else None
        started = g.get("request_started")
        duration = round((time.perf_counter() - started) * 1000, 1) if started else None
        requests_log.log(
            level,
            "%s %s %s",
            request.method,
            route or "(no route)",
            response.status_code,
            extra={
                "request_id": request_id,
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": duration,
                "user_id": _user_id(),
            },
        )
        return response


def _user_id() -> int | None:
    """The signed-in person's id, if this request has already looked them up. Read from
    the object's identity, so logging never sends a query of its own (the database may
    be the very thing that failed)."""
    user = g.get("_login_user")  # where Flask-Login keeps the user it loaded
    state = inspect(user, raiseerr=False) if user is not None else None
    if state is None or not state.identity:
        return None
    return state.identity[0]
