"""Two-step sign-in (TOTP with recovery codes): required for staff, finance and admin,
optional for everyone else; and the throttling of login, the code step and reset links."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from grants.core.clock import clock
from grants.core.models.audit import AuditEntry
from grants.core.models.people import User
from grants.database import get_session
from tests.conftest import PASSWORD, AuthActions, csrf_token, current_code


def _password_step(client, email, password=PASSWORD, headers=None):
    page = client.get("/auth/login")
    return client.post(
        "/auth/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
        headers=headers or {},
    )


def _code_step(client, code):
    page = client.get("/auth/two-step")
    return client.post("/auth/two-step", data={"code": code, "csrf_token": csrf_token(page.text)})


def _user(app, user_id) -> User:
    with app.app_context():
        db = get_session()
        user = db.get(User, user_id)
        db.expunge(user)
        return user


def _audited(app, action: str) -> int:
    with app.app_context():
        return get_session().scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )


def _set_up(client):
    """Turn two-step sign-in on from the setup page: (secret, recovery codes)."""
    page = client.get("/auth/two-step/setup")
    secret = re.search(r"secret=([A-Z2-7]+)", page.text).group(1)
    done = client.post(
        "/auth/two-step/setup",
        data={"code": pyotp.TOTP(secret).at(clock.now()), "csrf_token": csrf_token(page.text)},
    )
    return secret, re.findall(r"<li><code>([a-z2-9-]{11})</code></li>", done.text)


def _in(client, url) -> bool:
    return client.get(url).status_code == 200


# --- required for staff, finance and admin -----------------------------------------------


@pytest.mark.parametrize("role", ["staff", "finance", "admin"])
def test_these_roles_must_set_it_up_before_anything_else(app, client, make_user, role):
    person = make_user(role, two_step=False)
    response = _password_step(client, person.email)
    assert response.status_code == 302  # the password alone gets them as far as setup...
    home = {"staff": "/staff/", "finance": "/finance/", "admin": "/admin/"}[role]
    response = client.get(home)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/two-step/setup")
    # ...where the public hub and logging out stay open.
    assert client.get("/resources/").status_code == 200

    page = client.get("/auth/two-step/setup")
    secret = re.search(r'<p class="secret-key"><code>([A-Z2-7 ]+)</code>', page.text).group(1)
    secret = secret.replace(" ", "")
    assert f"secret={secret}" in page.text  # the otpauth:// link carries the same key
    wrong = client.post(
        "/auth/two-step/setup", data={"code": "000000", "csrf_token": csrf_token(page.text)}
    )
    assert "That code does not match" in wrong.text
    assert _user(app, person.id).totp_enabled_at is None

    done = client.post(
        "/auth/two-step/setup",
        data={"code": pyotp.TOTP(secret).at(clock.now()), "csrf_token": csrf_token(page.text)},
    )
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert _in(client, home)
    user = _user(app, person.id)
    assert user.totp_secret == secret and user.totp_enabled_at is not None

    # From now on the password is not enough.
    AuthActions(client).logout()
    response = _password_step(client, person.email)
    assert response.headers["Location"].endswith("/auth/two-step")
    assert not _in(client, home)
    clock.advance(timedelta(seconds=30))  # the setup code's step is spent
    response = _code_step(client, pyotp.TOTP(secret).at(clock.now()))
    assert response.headers["Location"].endswith(home)
    assert _in(client, home)


def test_a_wrong_or_replayed_code_is_refused(app, client, make_user):
    staff = make_user("staff")
    _password_step(client, staff.email)
    refused = _code_step(client, "123456")
    assert refused.status_code == 200 and "That code did not work" in refused.text
    assert not _in(client, "/staff/")
    code = current_code(app, staff.email)
    assert _code_step(client, code).status_code == 302
    assert _in(client, "/staff/")
    # Someone who saw that code, with the password, cannot use it again in its 30 seconds.
    thief = app.test_client()
    _password_step(thief, staff.email)
    assert "That code did not work" in _code_step(thief, code).text
    assert not _in(thief, "/staff/")
    assert _audited(app, "auth.two_step_failed") == 2


def test_a_recovery_code_works_once(app, client, make_user):
    staff = make_user("staff", two_step=False)
    _password_step(client, staff.email)
    _secret, codes = _set_up(client)
    assert len(codes) == 10
    AuthActions(client).logout()

    _password_step(client, staff.email)
    assert _code_step(client, codes[0].upper().replace("-", " ")).status_code == 302
    assert _in(client, "/staff/")
    AuthActions(client).logout()
    _password_step(client, staff.email)
    assert "That code did not work" in _code_step(client, codes[0]).text
    assert _audited(app, "auth.recovery_code_used") == 1


def test_the_code_step_does_not_wait_for_ever(app, client, make_user):
    staff = make_user("staff")
    _password_step(client, staff.email)
    page = client.get("/auth/two-step")
    clock.advance(timedelta(minutes=6))
    response = client.post(
        "/auth/two-step",
        data={"code": current_code(app, staff.email), "csrf_token": csrf_token(page.text)},
    )
    assert response.headers["Location"].startswith("/auth/login")
    assert not _in(client, "/staff/")
    # And without a password step first there is nothing to answer.
    fresh = app.test_client()
    assert fresh.get("/auth/two-step").headers["Location"].startswith("/auth/login")


def test_a_required_role_cannot_switch_it_off(app, client, make_user):
    staff = make_user("staff")
    AuthActions(client).login(staff.email)
    page = client.get("/auth/security")
    assert "Your role needs two-step sign-in" in page.text
    assert "Turn off two-step sign-in" not in page.text
    client.post("/auth/security/two-step/off", data={"csrf_token": csrf_token(page.text)})
    assert _user(app, staff.id).totp_enabled_at is not None


def test_it_is_optional_for_ambassadors_and_can_be_switched_off(app, client, make_user):
    maya = make_user("ambassador")
    AuthActions(client).login(maya.email)
    assert _in(client, "/wallet/")  # no setup demanded
    _set_up(client)
    assert _user(app, maya.id).totp_enabled_at is not None
    page = client.get("/auth/security")
    client.post("/auth/security/two-step/off", data={"csrf_token": csrf_token(page.text)})
    user = _user(app, maya.id)
    assert user.totp_enabled_at is None and user.totp_secret is None
    AuthActions(client).logout()
    assert _password_step(client, maya.email).headers["Location"].endswith("/wallet/")


def test_invitation_and_gift_links_do_not_skip_the_code(app, client, make_user):
    """An account with two-step sign-in on, proving itself by password through a link,
    still gives its code (sign_in is the one way in)."""
    from grants.auth.two_step import sign_in

    staff = make_user("staff")
    with app.test_request_context("/"):
        with app.app_context():
            user = get_session().get(User, staff.id)
            response = sign_in(user, "/wallet/")
        assert response.headers["Location"].endswith("/auth/two-step")


# --- throttling -----------------------------------------------------------------------


def test_login_is_throttled_per_account_from_any_address(app, client, make_user):
    app.config["LOGIN_ACCOUNT_LIMIT"] = "3 per minute"
    maya = make_user("ambassador", email="maya@example.org")
    answers = []
    for n in range(5):
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"  # a different address each time
        answers.append(_password_step(other, maya.email, "guess").status_code)
    assert answers == [200, 200, 200, 429, 429]
    # Even the right password waits now; another account does not.
    assert _password_step(app.test_client(), maya.email).status_code == 429
    make_user("ambassador", email="sam@example.org")
    assert _password_step(app.test_client(), "sam@example.org").status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_limit(app, make_user):
    app.config["LOGIN_LIMIT"] = "3 per minute"
    answers = []
    for n in range(5):
        client = app.test_client()
        answers.append(
            _password_step(
                client, f"person{n}@example.org", "guess",
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
        )  # fmt: skip
    assert answers[-1] == 429


def test_behind_a_proxy_only_the_proxys_address_counts(make_user, database_url, smtp_server):
    from grants import create_app

    app = create_app(
        {"DATABASE_URL": database_url, "PROXY_HOPS": 1, "LOGIN_LIMIT": "3 per minute"}, env="test"
    )
    try:
        answers = []
        for n in range(5):
            client = app.test_client()
            # The client forges the first address; the proxy appends the real one.
            answers.append(
                _password_step(
                    client, f"person{n}@example.org", "guess",
                    headers={"X-Forwarded-For": f"198.51.100.{n}, 192.0.2.7"},
                ).status_code
            )  # fmt: skip
        assert answers == [200, 200, 200, 429, 429]
        fresh = app.test_client()
        other = _password_step(
            fresh, "x@example.org", "guess", headers={"X-Forwarded-For": "192.0.2.8"}
        )
        assert other.status_code == 200
    finally:
        app.extensions["grants.engine"].dispose()


def test_reset_links_are_throttled_and_answer_alike(app, make_user, mailbox):
    app.config["RESET_ACCOUNT_LIMIT"] = "2 per hour"
    make_user("ambassador", email="maya@example.org")
    pages = []
    for email in ("maya@example.org", "nobody@example.org"):
        client = app.test_client()
        page = client.get("/auth/reset")
        response = client.post(
            "/auth/reset",
            data={"email": email, "csrf_token": csrf_token(page.text)},
            follow_redirects=True,
        )
        pages.append(re.sub(r'value="[^"]+"', "", response.text.split("<main")[1]))
        response.close()
    assert pages[0] == pages[1]  # the same answer for known and unknown addresses
    client = app.test_client()
    statuses = []
    for _n in range(3):
        page = client.get("/auth/reset")
        response = client.post(
            "/auth/reset",
            data={"email": "maya@example.org", "csrf_token": csrf_token(page.text)},
        )
        response.close()  # the email goes once the response is closed
        statuses.append(response.status_code)
    assert statuses == [302, 429, 429]  # one already used above
    assert len(mailbox.to("maya@example.org")) == 2


def test_throttle_keys_in_the_shared_store_hold_no_email(app, make_user):
    """Per-account limits count by a keyed digest of the email: Redis, where every worker's
    counts live, never holds the address someone typed."""
    import redis

    from grants.limits import limiter
    from tests.test_partners import need_redis

    need_redis()
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379"
    limiter.init_app(app)
    limiter.reset()
    store = redis.Redis(host="127.0.0.1", port=6379)
    try:
        make_user("ambassador", email="maya.keys@example.org")
        _password_step(app.test_client(), "maya.keys@example.org", "guess")
        client = app.test_client()
        page = client.get("/auth/reset")
        client.post(
            "/auth/reset",
            data={"email": "maya.keys@example.org", "csrf_token": csrf_token(page.text)},
        ).close()
        keys = [key.decode() for key in store.scan_iter("LIMITS*")]
        assert any("account:" in key for key in keys) and any("reset:" in key for key in keys)
        assert not [key for key in keys if "maya" in key or "example.org" in key]
    finally:
        limiter.reset()
        app.config["RATELIMIT_STORAGE_URI"] = "memory://"
        limiter.init_app(app)


def test_a_throttled_person_gets_a_page_not_an_error(app, make_user):
    app.config["LOGIN_LIMIT"] = "1 per minute"
    client = app.test_client()
    _password_step(client, "a@example.org", "guess")
    response = _password_step(client, "a@example.org", "guess")
    assert response.status_code == 429
    assert "<h1>" in response.text and "Traceback" not in response.text
