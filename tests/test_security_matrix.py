"""Who may do what, route by route: an authorisation matrix of every route of the app
against every kind of actor, with real objects that belong to someone else; CSRF on every
state-changing route; GET routes that change nothing; an audit row for every change.

The matrix (ROUTES, below) is the reviewable statement of the access policy. A route added
to the app without a row here fails test_every_route_is_declared. The world the rows run in
(whose ids fill the {placeholders}) is built by tests/security_world.py.

The database itself refusing UPDATE and DELETE of the append-only tables is tested where
those tables are: tests/test_admin.py::test_the_database_refuses_to_change_the_audit_log
(audit_entries) and tests/test_ledger_rules.py::test_the_database_refuses_to_change_a_transfer
and ::test_postgresql_refuses_truncate_too (transfers).
"""

from __future__ import annotations

import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from werkzeug.routing import AnyConverter

from grants.core.clock import clock
from grants.web import money_filter
from tests.conftest import PASSWORD, csrf_token, current_code
from tests.security_world import NEW_PASSWORD, ROLES, File, World, build_world, changed_tables

# What an actor gets back.
OK = "ok"  # 2xx, or a redirect anywhere but the login or password-confirmation page
LI = "login"  # sent to /auth/login to log in first
FB = "forbidden"  # 403
NF = "notfound"  # 404: the object is not theirs (the answer says nothing of whether it exists)
RJ = "rejected"  # 400/409/422 from the page itself: let in, but the object is not theirs

# Who gets what, in the order of ROLES: anonymous, ambassadors A and B, the recipient of
# gifts, partner users P and Q, staff, finance, admin.
# fmt: off
#                  anon A   B   rcp P   Q   stf fin adm
EVERYONE       =  (OK, OK, OK, OK, OK, OK, OK, OK, OK)
SIGNED_IN      =  (LI, OK, OK, OK, OK, OK, OK, OK, OK)
MID_SIGN_IN    =  (OK, LI, LI, LI, LI, LI, LI, LI, LI)  # anonymous, password given, code due
WALLETS        =  (LI, OK, OK, OK, FB, FB, FB, FB, FB)  # who holds credits in cohort C
IN_COHORT_C    =  (LI, OK, OK, NF, FB, FB, FB, FB, FB)  # who holds a place in cohort C
NOT_THEIRS     =  (LI, NF, NF, NF, FB, FB, FB, FB, FB)  # nobody's: another's gift, C2 ...
A_OWNS         =  (LI, OK, NF, NF, FB, FB, FB, FB, FB)
B_OWNS         =  (LI, NF, OK, NF, FB, FB, FB, FB, FB)
RECIPIENT_OWNS =  (LI, NF, NF, OK, FB, FB, FB, FB, FB)  # a gift to the recipient (from A or B)
PARTNERS       =  (LI, FB, FB, FB, OK, OK, FB, FB, FB)
P_CODE         =  (LI, FB, FB, FB, OK, RJ, FB, FB, FB)  # a voucher code booked with P
Q_CODE         =  (LI, FB, FB, FB, RJ, OK, FB, FB, FB)  # a voucher code booked with Q
STAFF          =  (LI, FB, FB, FB, FB, FB, OK, FB, FB)
FINANCE        =  (LI, FB, FB, FB, FB, FB, FB, OK, FB)
WRONG_BATCH    =  (LI, FB, FB, FB, FB, FB, FB, NF, FB)  # a payout line of another batch
ADMIN          =  (LI, FB, FB, FB, FB, FB, FB, FB, OK)
# fmt: on


def pending_two_step(world: World, client, role: str) -> None:
    """An anonymous browser gives Tess's password; the code step is next."""
    if role != "anon":
        return
    page = client.get("/auth/login")
    response = client.post(
        "/auth/login",
        data={
            "email": world.users["tess"].email,
            "password": PASSWORD,
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.headers["Location"].endswith("/auth/two-step")


def visit_setup(world: World, client, role: str) -> None:
    """Open the two-step set-up page (it keeps a new secret in the session)."""
    client.get("/auth/two-step/setup")


def two_step_code(world: World, client) -> str:
    return current_code(world.app, world.users["tess"].email)


def setup_code(world: World, client) -> str:
    with client.session_transaction() as session:
        secret = session.get("totp_setup")
    return pyotp.TOTP(secret).at(clock.now()) if secret else "000000"


CONSENT = "By joining, you agree that we keep your name and email to run the programme."
ACCEPT_AS_NEWCOMER = {
    "consent": "y",
    "consent_text_id": "{consent_id}",
    "new_password": NEW_PASSWORD,
    "confirm_password": NEW_PASSWORD,
}
GIFT = {
    "recipient_name": "Kit Keys",
    "recipient_email": "kit@crew.example",
    "relationship": "crew",
    "sessions": "1",
    "message": "For the tour.",
    "request_id": "{uuid}",
}
COHORT = {
    "programme_id": "3",
    "region": "GB",
    "intake_name": "2027",
    "status": "current",
    "currency": "USD",
    "session_value": "120.00",
    "session_allowance": "10",
    "session_budget": "600",
    "gift_expiry_days": "30",
    "approval_threshold": "6",
    "gift_limit_per_recipient": "6",
    "open_gift_limit": "5",
    "starts_on": "2027-01-01",
    "ends_on": "2027-12-31",
}
NEW_COHORT = {**COHORT, "region": "US", "intake_name": "2031", "status": "upcoming"}
NEW_COHORT.update(starts_on="2031-01-01", ends_on="2031-12-31")
RESOURCE = {
    "name": "New Line",
    "country": "US",
    "languages": "en",
    "topics": ["crisis"],
    "channels": "phone: 988",
    "hours": "24/7",
    "free": "yes",
    "source": "https://example.org/new",
    "checked_on": "{today}",
}
PARTNER = {
    "name": "Reef Support Group",
    "kind": "therapy",
    "currency": "USD",
    "regions": ["US"],
    "contact_name": "Rae Reef",
    "contact_email": "rae@reef.example",
    "payout_reference": "",
    "active": "y",
}
CONFIRM = {"session_date": "{today}", "outcome": "delivered"}
PAY = {"bank_reference": "BANK-REF-1", "paid_on": "{today}"}
CSV = "name,artist_name,email,country\nUma Upload,Uploads,{fresh_email},GB\n"


@dataclass(frozen=True)
class Route:
    method: str
    url: str  # {name}: a value of the world (tests/security_world.py)
    expect: tuple[str, ...]  # per actor, in the order of ROLES
    by: str | None = None  # POST: the actor whose `data` is accepted (audit and CSRF tests)
    data: dict = field(default_factory=dict)  # a valid form; callables get (world, client)
    # Whose id the audit row of a success names; "nobody": a row naming no one; None: no row.
    audit: str | None = "by"
    fresh: bool = False  # each actor in a browser of its own: the request logs in or out
    prepare: Callable | None = None  # run in the actor's browser before the request
    # A success that sends the person on to the login page (logging out, a reset link):
    # told apart from "log in first", which names the page to come back to (?next=).
    done_at_login: bool = False

    @property
    def name(self) -> str:
        code = self.data.get("code")  # two rows differ only in the voucher code
        return f"{self.method} {self.url}" + (f" {code}" if isinstance(code, str) else "")


def GET(url, expect, **extra):
    return Route("GET", url, expect, **extra)


def POST(url, expect, **extra):
    return Route("POST", url, expect, **extra)


# Every route and method of the app, with what each actor gets. Object routes point at
# objects that are one actor's (B's gift, P's voucher ...), so the others are shown to be
# kept out; some routes appear twice, once for each owner.
ROUTES: tuple[Route, ...] = (
    GET("/", SIGNED_IN),
    GET("/resources/", EVERYONE),
    # Health checks for load balancers and containers: states only, no personal data.
    GET("/healthz", EVERYONE),
    GET("/readyz", EVERYONE),
    POST("/language", EVERYONE, by="amb_a", data={"language": "en", "next": "/resources/"}),
    # -- signing in and out, links from emails, two-step sign-in --
    GET("/auth/login", EVERYONE),
    POST(
        "/auth/login",
        EVERYONE,
        by="anon",
        audit="lou",
        fresh=True,
        data={"email": "lou@band.example", "password": PASSWORD},
    ),
    POST("/auth/logout", SIGNED_IN, by="amb_a", fresh=True, done_at_login=True),
    GET("/auth/no-role", SIGNED_IN),
    GET("/auth/confirm", SIGNED_IN),
    POST("/auth/confirm", SIGNED_IN, by="amb_a", data={"password": PASSWORD}),
    GET("/auth/gift/{gift_token}", EVERYONE),
    POST(
        "/auth/gift/{fresh_gift_token}",
        EVERYONE,
        by="anon",
        audit="subject",
        fresh=True,
        data=ACCEPT_AS_NEWCOMER,
    ),
    POST("/auth/gift/{fresh_gift_token}/decline", EVERYONE, by="anon", audit="subject"),
    GET("/auth/invitation/{invitation_token}", EVERYONE),
    POST(
        "/auth/invitation/{fresh_invitation_token}",
        EVERYONE,
        by="anon",
        audit="subject",
        fresh=True,
        data=ACCEPT_AS_NEWCOMER,
    ),
    GET("/auth/reset", EVERYONE),
    # Asking for a reset link writes the same audit row whether or not an account uses
    # the address (it names the queued email, no person), so the log tells nothing either.
    POST(
        "/auth/reset",
        EVERYONE,
        by="anon",
        audit="nobody",
        done_at_login=True,
        data={"email": "{fresh_email}"},
    ),
    GET("/auth/reset/{reset_token}", EVERYONE),
    POST(
        "/auth/reset/{fresh_reset_token}",
        EVERYONE,
        by="anon",
        audit="subject",
        done_at_login=True,
        data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    ),
    GET("/auth/two-step", MID_SIGN_IN, fresh=True, prepare=pending_two_step),
    POST(
        "/auth/two-step",
        MID_SIGN_IN,
        by="anon",
        audit="tess",
        fresh=True,
        prepare=pending_two_step,
        data={"code": two_step_code},
    ),
    GET("/auth/two-step/setup", SIGNED_IN),
    POST(
        "/auth/two-step/setup",
        SIGNED_IN,
        by="amb_a",
        prepare=visit_setup,
        data={"code": setup_code},
    ),
    GET("/auth/security", SIGNED_IN),
    POST("/auth/security/recovery-codes", SIGNED_IN, by="staff"),
    POST("/auth/security/two-step/off", SIGNED_IN, by="amb_b"),
    # -- ambassadors' and recipients' wallets --
    GET("/wallet/", WALLETS),
    GET("/wallet/cohorts/{cohort}/ask", IN_COHORT_C),
    POST("/wallet/cohorts/{cohort}/ask", IN_COHORT_C, by="amb_a", data={"sessions": "2"}),
    GET("/wallet/cohorts/{cohort2}/ask", NOT_THEIRS),
    POST("/wallet/cohorts/{cohort2}/ask", NOT_THEIRS, data={"sessions": "2"}),
    GET("/wallet/cohorts/{cohort}/book", WALLETS),
    POST(
        "/wallet/cohorts/{cohort}/book",
        WALLETS,
        by="amb_a",
        data={"partner_id": "{p}", "request_id": "{uuid}"},
    ),
    GET("/wallet/cohorts/{cohort2}/book", NOT_THEIRS),
    POST(
        "/wallet/cohorts/{cohort2}/book",
        NOT_THEIRS,
        data={"partner_id": "{p}", "request_id": "{uuid}"},
    ),
    GET("/wallet/cohorts/{cohort}/gift", WALLETS),
    POST("/wallet/cohorts/{cohort}/gift", WALLETS, by="amb_a", data=GIFT),
    GET("/wallet/cohorts/{cohort2}/gift", NOT_THEIRS),
    POST("/wallet/cohorts/{cohort2}/gift", NOT_THEIRS, data=GIFT),
    GET("/wallet/gifts/{gift_accept}", RECIPIENT_OWNS),  # A gave it: still not A's to see
    GET("/wallet/gifts/{gift_b}", NOT_THEIRS),  # B's gift to Sam, who is none of these
    POST(
        "/wallet/gifts/{gift_accept}/accept",
        RECIPIENT_OWNS,
        by="recipient",
        data={"consent": "y", "consent_text_id": "{consent_id}"},
    ),
    POST("/wallet/gifts/{gift_decline}/decline", RECIPIENT_OWNS, by="recipient"),
    # Confirmation pages ("check, then confirm") before what cannot be undone.
    GET("/wallet/gifts/{gift_b}/revoke", B_OWNS),
    GET("/wallet/gifts/{gift_a}/revoke", A_OWNS),
    POST("/wallet/gifts/{gift_b}/revoke", B_OWNS, by="amb_b"),
    POST("/wallet/gifts/{gift_a}/revoke", A_OWNS, by="amb_a"),
    POST("/wallet/requests/{grant_b}/withdraw", B_OWNS, by="amb_b"),
    POST("/wallet/requests/{grant_c}/withdraw", NOT_THEIRS),  # helper C's request
    POST("/wallet/vouchers/{voucher_b}/cancel", B_OWNS, by="amb_b"),
    POST("/wallet/vouchers/{voucher_a}/cancel", A_OWNS, by="amb_a"),
    # -- partners --
    GET("/partner/", PARTNERS),
    GET("/partner/confirm", PARTNERS),
    POST("/partner/confirm", P_CODE, by="partner_p", data={"code": "{to_confirm_p}", **CONFIRM}),
    POST("/partner/confirm", Q_CODE, by="partner_q", data={"code": "{to_confirm_q}", **CONFIRM}),
    # -- programme staff --
    GET("/staff/", STAFF),
    GET("/staff/cohorts/new", STAFF),
    POST("/staff/cohorts/new", STAFF, by="staff", data=NEW_COHORT),
    GET("/staff/cohorts/{cohort2}", STAFF),
    GET("/staff/cohorts/{cohort2}/edit", STAFF),
    POST("/staff/cohorts/{cohort2}/edit", STAFF, by="staff", data=COHORT),
    POST(
        "/staff/cohorts/{cohort2}/fund",
        STAFF,
        by="staff",
        data={"sessions": "5", "request_id": "{uuid}"},
    ),
    GET("/staff/cohorts/{cohort2}/import", STAFF),
    POST("/staff/cohorts/{cohort2}/import", STAFF, by="staff", data={"file": File(CSV)}),
    GET("/staff/cohorts/{cohort2}/invite", STAFF),
    POST(
        "/staff/cohorts/{cohort2}/invite",
        STAFF,
        by="staff",
        data={"name": "Ina Invite", "artist_name": "Inas", "email": "{fresh_email}"},
    ),
    POST("/staff/enrolments/{enr_resend}/resend", STAFF, by="staff"),
    POST("/staff/enrolments/{enr_revoke}/revoke", STAFF, by="staff"),
    POST("/staff/enrolments/{enr_close}/close", STAFF, by="staff"),
    GET("/staff/imports/{import_confirm}", STAFF),
    POST("/staff/imports/{import_confirm}/confirm", STAFF, by="staff"),
    POST("/staff/imports/{import_discard}/discard", STAFF, by="staff"),
    GET("/staff/partner-grants", STAFF),
    POST(
        "/staff/partner-grants",
        STAFF,
        by="staff",
        data={
            "partner_id": "{p}",
            "amount": "50.00",
            "purpose": "Outreach",
            "request_id": "{uuid}",
        },
    ),
    GET("/staff/partner-grants/{pg_approve}/approve", STAFF),
    POST("/staff/partner-grants/{pg_approve}/approve", STAFF, by="staff"),
    POST("/staff/partner-grants/{pg_withdraw}/withdraw", STAFF, by="staff"),
    POST(
        "/staff/partner-grants/{pg_decline}/decline",
        STAFF,
        by="staff",
        data={"message": "Not this quarter."},
    ),
    GET("/staff/requests", STAFF),
    GET("/staff/requests/{grant_c}", STAFF),
    GET("/staff/requests/{grant_c}/approve", STAFF),
    POST("/staff/requests/{grant_c}/approve", STAFF, by="staff", data={"sessions": "2"}),
    POST(
        "/staff/requests/{grant_d}/decline",
        STAFF,
        by="staff",
        data={"message": "The budget is spent for this year."},
    ),
    GET("/staff/resources", STAFF),
    GET("/staff/resources/new", STAFF),
    POST("/staff/resources/new", STAFF, by="staff", data=RESOURCE),
    GET("/staff/resources/{res_edit}/edit", STAFF),
    POST(
        "/staff/resources/{res_edit}/edit", STAFF, by="staff", data={**RESOURCE, "name": "Edited"}
    ),
    POST("/staff/resources/{res_check}/checked", STAFF, by="staff"),
    POST("/staff/resources/{res_retire}/retire", STAFF, by="staff"),
    POST("/staff/resources/{res_restore}/restore", STAFF, by="staff"),
    POST(
        "/staff/resources/emergency-numbers",
        STAFF,
        by="staff",
        data={
            "country": "GB",
            "number": "999",
            "source": "https://gov.uk/",
            "checked_on": "{today}",
        },
    ),
    GET("/staff/resources/export.csv", STAFF),
    GET("/staff/resources/export.json", STAFF),
    # -- finance --
    GET("/finance/", FINANCE),
    GET("/finance/batches", FINANCE),
    POST(
        "/finance/batches",
        FINANCE,
        by="finance",
        data={"currency": "USD", "cutoff": "{today}", "request_id": "{uuid}"},
    ),
    GET("/finance/batches/{batch_lines}", FINANCE),
    GET("/finance/batches/{batch_lines}/summary.csv", FINANCE),
    GET("/finance/batches/{batch_lines}/detail.csv", FINANCE),
    GET("/finance/batches/{batch_lines}/bank.csv", FINANCE),
    GET("/finance/batches/{batch_lines}/batch.xlsx", FINANCE),
    GET("/finance/batches/{batch_lines}/lines/{line_p}/remittance", FINANCE),
    GET("/finance/batches/{batch_pay}/lines/{line_p}/remittance", WRONG_BATCH),
    GET("/finance/batches/{batch_approve}/approve", FINANCE),
    GET("/finance/batches/{batch_discard}/discard", FINANCE),
    GET("/finance/batches/{batch_pay}/pay", FINANCE),
    GET("/finance/batches/{batch_lines}/lines/{line_p}/pay", FINANCE),
    GET("/finance/batches/{batch_pay}/lines/{line_p}/pay", WRONG_BATCH),
    POST("/finance/batches/{batch_approve}/approve", FINANCE, by="finance"),
    POST("/finance/batches/{batch_discard}/discard", FINANCE, by="finance"),
    POST("/finance/batches/{batch_pay}/pay", FINANCE, by="finance", data=PAY),
    POST("/finance/batches/{batch_lines}/lines/{line_p}/pay", FINANCE, by="finance", data=PAY),
    POST(
        "/finance/batches/{batch_lines}/lines/{line_q}/fail",
        FINANCE,
        by="finance",
        data={"reason": "The account was closed."},
    ),
    POST("/finance/batches/{batch_pay}/lines/{line_q}/fail", WRONG_BATCH, data={"reason": "x"}),
    GET("/finance/reconciliation", FINANCE),
    # -- administration --
    GET("/admin/", ADMIN),
    GET("/admin/audit", ADMIN),
    GET("/admin/users/{ulla}", ADMIN),
    POST(
        "/admin/users/{ulla}/roles",
        ADMIN,
        by="admin",
        data={"roles": ["ambassador", "recipient"]},
    ),
    GET("/admin/users/{dora}/disable", ADMIN),
    GET("/admin/users/{tom}/two-step/reset", ADMIN),
    POST("/admin/users/{dora}/disable", ADMIN, by="admin"),
    POST("/admin/users/{enzo}/enable", ADMIN, by="admin"),
    POST("/admin/users/{tom}/two-step/reset", ADMIN, by="admin"),
    GET("/admin/partners", ADMIN),
    GET("/admin/partners/new", ADMIN),
    POST("/admin/partners/new", ADMIN, by="admin", data={**PARTNER, "name": "Tidal Care"}),
    GET("/admin/partners/{r}", ADMIN),
    POST("/admin/partners/{r}", ADMIN, by="admin", data=PARTNER),
    POST(
        "/admin/partners/{r}/users",
        ADMIN,
        by="admin",
        data={"name": "Rae Reef", "email": "{fresh_email}"},
    ),
    GET("/admin/programmes", ADMIN),
    POST(
        "/admin/programmes",
        ADMIN,
        by="admin",
        data={"code": "BLOOM", "name": "Bloom", "consent": CONSENT},
    ),
    GET("/admin/programmes/{programme}/consent", ADMIN),
    POST(
        "/admin/programmes/{programme}/consent",
        ADMIN,
        by="admin",
        data={"consent": CONSENT + " Version two."},
    ),
)

# The state-changing routes, each with the actor its form succeeds for.
SUCCEEDING_POSTS = tuple(route for route in ROUTES if route.method == "POST" and route.by)


# -- running a route as an actor ----------------------------------------------------------


def classify(response, route: Route | None = None) -> str:
    status = response.status_code
    if 300 <= status < 400:
        target = urlsplit(response.headers["Location"])
        if target.path == "/auth/login":
            if route and route.done_at_login and "next=" not in target.query:
                return OK
            return LI
        if target.path == "/auth/confirm":
            return "reauthenticate"
        return OK
    if 200 <= status < 300:
        return OK
    if status == 403:
        return FB
    if status == 404:
        return NF
    if status in (400, 409, 422):
        return "csrf" if "This form had expired" in response.text else RJ
    return f"HTTP {status}"


@dataclass
class Call:
    """A request made ready (browser, URL and form filled in), to be sent later."""

    route: Route
    role: str
    client: object
    url: str
    form: dict

    def send(self, csrf: str | None = "valid"):
        if self.route.method == "GET":
            response = self.client.get(self.url)
        else:
            form = dict(self.form)
            if csrf == "valid":
                form["csrf_token"] = self.client.csrf
            elif csrf is not None:
                form["csrf_token"] = csrf
            response = self.client.post(self.url, data=form)
        response.get_data()
        response.close()
        return response


def ready(world: World, route: Route, role: str) -> Call:
    """Everything before the request itself: the browser (fresh if the route logs in or out),
    what the route needs done first, fresh links and ids filled in, a valid CSRF token."""
    client = world.new_client(role) if route.fresh else world.client(role)
    if route.prepare:
        route.prepare(world, client, role)
        client.csrf = None  # the step may have started a new session
    url = world.fill(route.url)
    form = {}
    for key, value in route.data.items():
        form[key] = value(world, client) if callable(value) else world.fill(value)
    if route.method == "POST":
        world.token(client)
    return Call(route, role, client, url, form)


def audit_actor(world: World, route: Route) -> int:
    who = route.by if route.audit == "by" else route.audit
    if who == "subject":
        return world.subject
    return world.users[who].id


@pytest.fixture
def world(app, make_user, make_cohort) -> World:
    return build_world(app, make_user, make_cohort)


# -- 1. the matrix ----------------------------------------------------------------------


def test_every_route_is_declared(app):
    """Each route and method of the app (and each value of an <any(...)> part) has a row,
    and each row is a route of the app."""
    adapter = app.url_map.bind("grants.test")
    declared, values, problems = set(), set(), []
    for route in ROUTES:
        names = [n for _, n, _, _ in string.Formatter().parse(route.url) if n]
        path = route.url.format_map(dict.fromkeys(names, "1"))
        try:
            rule, args = adapter.match(path, method=route.method, return_rule=True)
        except Exception as error:  # NotFound, MethodNotAllowed, RequestRedirect
            problems.append(f"{route.name}: not a route of the app ({type(error).__name__})")
            continue
        declared.add((rule.rule, route.method))
        values.update((rule.rule, route.method, name, args[name]) for name in args)
        if len(route.expect) != len(ROLES) or set(route.expect) - {OK, LI, FB, NF, RJ}:
            problems.append(f"{route.name}: give one of the answer classes for each of {ROLES}")
        if route.by and route.expect[ROLES.index(route.by)] != OK:
            problems.append(f"{route.name}: {route.by} is named to succeed but is not let in")
        if route.method == "POST" and OK in route.expect and not route.by:
            problems.append(f"{route.name}: someone is let in; name them (by=) and a valid form")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (rule.rule, method) not in declared:
                problems.append(f"{method} {rule.rule}: missing from ROUTES; declare who may")
                continue
            for name, converter in rule._converters.items():
                if isinstance(converter, AnyConverter):
                    problems += [
                        f"{method} {rule.rule} with {name}={value}: missing from ROUTES"
                        for value in sorted(converter.items)
                        if (rule.rule, method, name, value) not in values
                    ]
    assert not problems, "\n".join(problems)


def test_authorization_matrix(world):
    """Every cell of the matrix. POSTs carry the form that succeeds for its owner and a valid
    CSRF token of the actor's own session, so a refusal is the access rule's doing; a refused
    POST changes nothing in the database. Refusals are tried first, on untouched objects."""
    wrong = []
    for route in ROUTES:
        cells = sorted(zip(ROLES, route.expect, strict=True), key=lambda cell: cell[1] == OK)
        # Every browser made ready first (fresh sign-ins, links), so that from the first
        # refused POST on, only the requests themselves could change the database.
        calls = [ready(world, route, role) for role, _ in cells]
        before = None
        for call, (role, expected) in zip(calls, cells, strict=True):
            refused = route.method == "POST" and expected != OK
            if refused and before is None:
                before = world.snapshot()
            got = classify(call.send(), route)
            if got != expected:
                wrong.append(f"{route.name} as {role}: expected {expected}, got {got}")
            if refused:
                after = world.snapshot()
                changed = changed_tables(before, after)
                if changed:
                    wrong.append(f"{route.name} as {role}: refused, yet changed {changed}")
                before = after
    assert not wrong, "\n".join(wrong)


def test_each_sees_only_their_own(world):
    """Object-level reads: A's pages show nothing of B's (and the other way round), the
    recipient sees neither's bookings or other gifts, P sees nothing of Q's sessions or
    payouts (and the other way round). Each page also shows its owner's own, so the check
    would notice if the page showed nothing at all."""
    ids = world.ids
    pages = {  # whose wallet page: what it shows, what it must not
        "amb_a": (
            [ids["code_a"], "Alex Ampersand", "Rita Roadcrew"],
            [ids["code_b"], "Sam Sideman", "Rita from the crew"],
        ),
        "amb_b": (
            [ids["code_b"], "Sam Sideman", "Rita from the crew"],
            [ids["code_a"], "Alex Ampersand", "Rita Roadcrew"],
        ),
        "recipient": (
            ["Ava Ashdown", "Ben Bexley"],  # the gifts waiting for them, by giver
            [ids["code_a"], ids["code_b"], "Alex Ampersand", "Sam Sideman"],
        ),
    }
    for role, (mine, theirs) in pages.items():
        page = world.client(role).get("/wallet/").text
        assert [text for text in mine if text not in page] == [], role
        assert [text for text in theirs if text in page] == [], role

    reference = "payout {}-{}<".format
    partner_own = {
        "partner_p": [
            *ids["confirmed_p"],
            money_filter(10_000, "USD"),
            reference(ids["batch_lines"], ids["line_p"]),
        ],
        "partner_q": [
            *ids["confirmed_q"],
            money_filter(77_777, "USD"),
            reference(ids["batch_lines"], ids["line_q"]),
        ],
    }
    for role, mine in partner_own.items():
        page = world.client(role).get("/partner/").text
        theirs = partner_own["partner_q" if role == "partner_p" else "partner_p"]
        assert [text for text in mine if text not in page] == [], role
        assert [text for text in theirs if text in page] == [], role

    # P is told the same about Q's real code as about a code that does not exist.
    p = world.client("partner_p")
    form = {"session_date": clock.today().isoformat(), "outcome": "delivered"}
    answers = []
    for code in (ids["to_confirm_q"], "ZZZZ-ZZZZ"):
        response = p.post(
            "/partner/confirm", data={**form, "code": code, "csrf_token": world.token(p)}
        )
        answers.append((response.status_code, response.text.replace(code, "<code>")))
    assert answers[0] == answers[1]


# -- 2. CSRF, and GETs that change nothing ----------------------------------------------


def _expired_token(app, client, age: int) -> str:
    """A CSRF token of `client`'s own session signed `age` seconds ago, made the way
    Flask-WTF makes one (itsdangerous, the app's secret, salt "wtf-csrf-token") but with an
    old timestamp: an expired token without waiting WTF_CSRF_TIME_LIMIT out."""

    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    with client.session_transaction() as session:
        raw = session["csrf_token"]
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token", signer=Earlier).dumps(raw)


def test_a_token_made_like_the_expired_one_but_fresh_is_accepted(world):
    """The crafted expired tokens below differ from a good one only in age."""
    app, client = world.app, world.client("amb_a")
    world.token(client)
    for age, expected in ((0, 302), (app.config["WTF_CSRF_TIME_LIMIT"] + 60, 400)):
        token = _expired_token(app, client, age)
        response = client.post("/language", data={"language": "en", "csrf_token": token})
        assert response.status_code == expected


@pytest.mark.parametrize("kind", ["missing", "another session's", "expired"])
def test_every_post_refuses_a_bad_csrf_token(world, kind):
    """For every state-changing route, with the form that would succeed and by the actor it
    would succeed for: no token, another session's token and an expired token are refused
    with 400 and change nothing."""
    app = world.app
    assert app.config.get("WTF_CSRF_ENABLED", True), "CSRF protection is off"
    elsewhere = world.token(world.client("admin"))  # valid, but for admin's session
    wrong = []
    for route in SUCCEEDING_POSTS:
        call = ready(world, route, route.by)
        if kind == "missing":
            token = None
        elif kind == "expired":
            token = _expired_token(app, call.client, app.config["WTF_CSRF_TIME_LIMIT"] + 60)
        else:
            token = elsewhere if route.by != "admin" else world.token(world.client("staff"))
        before = world.snapshot()
        response = call.send(csrf=token)
        if classify(response) != "csrf":
            wrong.append(f"{route.name}: HTTP {response.status_code}, not the CSRF refusal")
        changed = changed_tables(before, world.snapshot())
        if changed:
            wrong.append(f"{route.name}: changed {changed}")
    assert not wrong, "\n".join(wrong)


def test_no_get_changes_anything(world):
    """Every GET route, as every actor: the database is the same afterwards, row for row,
    but for login bookkeeping (a login session's last_seen_at, see BOOKKEEPING). The clock
    moves on first, so that bookkeeping does happen during the walk."""
    clock.advance(timedelta(minutes=2))
    wrong = []
    for route in ROUTES:
        if route.method != "GET":
            continue
        calls = [ready(world, route, role) for role in ROLES]
        before = world.snapshot()
        for call in calls:
            call.send()
        changed = changed_tables(before, world.snapshot())
        if changed:
            wrong.append(f"{route.name}: changed {changed}")
    assert not wrong, "\n".join(wrong)


# -- 3. audit ---------------------------------------------------------------------------


def test_every_successful_post_writes_an_audit_row(world):
    """Each state-changing route, with a valid form by the actor it is for, succeeds and
    adds an audit row naming who acted (for sign-ins and emailed links, the person signing
    in or named by the link; a row naming no one for an anonymous request about no known
    person). A route declared audit=None must write no row: the exception stays visible in
    ROUTES, and is noticed when it ends."""
    wrong = []
    for route in SUCCEEDING_POSTS:
        call = ready(world, route, route.by)
        everyone = world.audit_count()
        named = route.audit not in (None, "nobody")
        actor = audit_actor(world, route) if named else None
        theirs = world.audit_count(actor) if named else 0
        response = call.send()
        if classify(response, route) != OK:
            wrong.append(f"{route.name}: did not succeed (HTTP {response.status_code})")
        elif route.audit is None:
            if world.audit_count() != everyone:
                wrong.append(f"{route.name}: writes an audit row now; remove audit=None")
        elif route.audit == "nobody":  # an anonymous request about no known person
            if world.audit_count() <= everyone:
                wrong.append(f"{route.name}: no audit row")
        elif world.audit_count(actor) <= theirs:
            wrong.append(f"{route.name}: no audit row names the actor")
    assert not wrong, "\n".join(wrong)
