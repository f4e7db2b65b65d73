"""The app as the benchmarks drive it: built for a scratch database, and signed in the way a
browser signs in (the login form with its CSRF token, then the two-step code)."""

from __future__ import annotations

import atexit
import re
import secrets
import shutil
import tempfile

import pyotp

from bench.world import PASSWORD, World
from grants import create_app

_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'type="hidden" name="csrf_token" value="([^"]+)"'
)


def settings(url: str) -> dict:
    """Settings for the app under benchmark: development's, on `url`, email left queued."""
    instance = tempfile.mkdtemp(prefix="grants-bench-instance-")
    atexit.register(shutil.rmtree, instance, ignore_errors=True)
    return {
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(32),
        "MAIL_BACKEND": "none",
        "INSTANCE_PATH": instance,
        "LOG_FORMAT": None,
    }


def make_app(url: str):
    return create_app(settings(url), env="development")


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1) or match.group(2)


def sign_in(client, world: World, email: str):
    """Sign `client` (Flask's test client) in as `email`; returns it."""
    page = client.get("/auth/login")
    answer = client.post(
        "/auth/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    if answer.headers.get("Location", "").endswith("/auth/two-step"):
        page = client.get("/auth/two-step")
        answer = client.post(
            "/auth/two-step",
            data={
                "code": pyotp.TOTP(world.totp[email]).now(),
                "csrf_token": csrf_token(page.text),
            },
        )
    if answer.status_code != 302 or "/auth/" in answer.headers.get("Location", ""):
        raise RuntimeError(f"could not sign in as {email}: {answer.status_code}")
    return client
