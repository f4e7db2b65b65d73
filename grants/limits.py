"""Rate limits, kept in storage every worker shares (Redis in production; memory for one
process). Keys never trust a forwarded-for header the app was not told to trust."""

import hashlib
import hmac
import logging

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def account_key(prefix: str) -> str:
    """A limit key for the account whose email was typed into this request's form.

    The email itself never becomes a key: keys sit in Redis (and in its dumps) for as long as
    the window lasts, and an address there says who tried to sign in. A keyed digest counts
    the same account the same way and tells a reader of the store nothing."""
    email = (request.form.get("email") or "").strip().lower()[:254]
    secret = str(current_app.config.get("SECRET_KEY") or "").encode()
    mac = hmac.new(secret, f"{prefix}:{email}".encode(), hashlib.sha256).hexdigest()
    return f"{prefix}:{mac[:32]}"


class KeysOutOfLogs(logging.Filter):
    """Flask-Limiter logs the key of every limit it enforces ("ratelimit 3 per 1 hour
    (reset:someone@example.org) exceeded"), and the per-account limits key on the email
    typed in. Logs carry ids, not addresses: the key is replaced by a keyed digest, which
    still lets an operator see that the same key was refused again."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret.encode()

    def digest(self, key: object) -> str:
        mac = hmac.new(self.secret, str(key).encode(), hashlib.sha256).hexdigest()
        return f"key#{mac[:12]}"

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            args = list(record.args)
            is_limit = str(record.msg).startswith("ratelimit") and len(args) > 1
            for index, value in enumerate(args):
                if (is_limit and index == 1) or (isinstance(value, str) and "@" in value):
                    args[index] = self.digest(value)
            record.args = tuple(args)
        return True


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)
    logger = logging.getLogger("flask-limiter")
    for old in [f for f in logger.filters if isinstance(f, KeysOutOfLogs)]:
        logger.removeFilter(old)  # one app at a time: the newest app's secret
    logger.addFilter(KeysOutOfLogs(str(app.config.get("SECRET_KEY") or "")))
