"""A small but complete world for the security tests (tests/test_security_matrix.py).

Nine actors, one logged-in test client each (anonymous too), and real objects behind every
`<int:...>` of the app, so each route can be tried against objects its actor does not own:

- cohort C (US): ambassadors A and B, each with credits, a booking with P and a gift still
  waiting; B also has an open funding request. A gave the recipient (a crew member) a gift
  they accepted, and one more that waits; B gave the recipient another that waits.
- cohort C2 (GB): what staff edit, fund, invite to and import into; pending invitations,
  an active place to close, two staged CSV imports.
- partners P and Q (each with one partner login) with confirmed sessions, bookings whose
  codes are still to confirm, and payout lines; partner R, which admin edits.
- funding requests (of helper ambassadors) for staff to approve and decline; partner grants
  to approve, withdraw and decline; directory entries; payout batches in each state.

Objects are made through the core, the way the app makes them. Links that can be used once
(gift, invitation, password reset) are made fresh on demand: `world.resolve("fresh_...")`.
"""

from __future__ import annotations

import io
import itertools
import string
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select

from grants.core.accounts import disable
from grants.core.clock import clock
from grants.core.db import Base, commit_with_retry
from grants.core.enrolment import Invitee, current_consent, invite
from grants.core.enrolment_csv import check_places, read_enrolment_csv
from grants.core.funding import ask_for_funding
from grants.core.gifts import accept_gift, gift_credits
from grants.core.models.audit import AuditEntry
from grants.core.models.cohorts import Cohort, Enrolment
from grants.core.models.imports import EnrolmentImport
from grants.core.models.partners import Partner
from grants.core.models.people import User
from grants.core.partners import (
    PartnerSettings,
    approve_partner_grant,
    propose_partner_grant,
    save_partner,
)
from grants.core.payouts import approve_batch, build_batch
from grants.core.people import create_user
from grants.core.resources import add_entry, retire_entry
from grants.core.tokens import make_token
from grants.core.vouchers import book_session, confirm_session, show_code
from grants.database import get_session
from tests.conftest import PASSWORD, AuthActions, csrf_token
from tests.test_funding import enrol_user
from tests.test_gifts import grant_credits

ROLES = (
    "anon",
    "amb_a",
    "amb_b",
    "recipient",
    "partner_p",
    "partner_q",
    "staff",
    "finance",
    "admin",
)
PROGRAMME_ID = 3  # RADAR, inserted by the migrations
T0 = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
NEW_PASSWORD = "quiet harbour lantern morning"
# Columns whose change is login bookkeeping, not a change a request makes: a login session's
# "last seen" moves on (at most once a minute) with every request of a logged-in person.
BOOKKEEPING = {"login_sessions": {"last_seen_at"}}


class File:
    """A file field of a form: its text may name world values like any other field."""

    def __init__(self, text: str, filename: str = "list.csv") -> None:
        self.text, self.filename = text, filename


class World:
    def __init__(self, app) -> None:
        self.app = app
        self.users: dict[str, SimpleNamespace] = {}
        self.ids: dict[str, object] = {}
        self.subject: int | None = None  # the person the last fresh link was for
        self._clients: dict[str, object] = {}
        self._numbers = itertools.count(1)

    # -- clients -----------------------------------------------------------------------

    def address(self, role: str) -> str:
        # Each actor comes from its own address, so per-address rate limits (logins,
        # resets) count each actor's requests, not the whole test's.
        return f"127.0.0.{ROLES.index(role) + 10}"

    def new_client(self, role: str):
        """A new browser for `role`, logged in unless anonymous."""
        client = self.app.test_client()
        client.environ_base["REMOTE_ADDR"] = self.address(role)
        if role != "anon":
            response = AuthActions(client).login(self.users[role].email)
            assert response.status_code == 302, f"{role} could not log in"
            assert "/auth/" not in response.headers["Location"], response.headers["Location"]
        return client

    def client(self, role: str):
        """The actor's own browser, kept for the whole test."""
        if role not in self._clients:
            self._clients[role] = self.new_client(role)
        return self._clients[role]

    def token(self, client) -> str:
        """A valid CSRF token of `client`'s session (one works for every form of it)."""
        if getattr(client, "csrf", None) is None:
            client.csrf = csrf_token(client.get("/resources/").text)
        return client.csrf

    # -- values named in the route table -------------------------------------------------

    def resolve(self, name: str):
        if name == "uuid":
            return str(uuid.uuid4())
        if name == "today":
            return clock.today().isoformat()
        if name == "fresh_email":
            return f"person{next(self._numbers)}@fresh.example"
        if name == "consent_id":
            with self.app.app_context():
                return current_consent(get_session(), PROGRAMME_ID).id
        if name == "fresh_gift_token":
            return self.fresh_gift_token()
        if name == "fresh_invitation_token":
            return self.fresh_invitation_token()
        if name == "fresh_reset_token":
            return self.fresh_reset_token()
        return self.ids[name]

    def fill(self, template):
        """`template` with every {name} in it replaced by the world's value."""
        if isinstance(template, str):
            names = [n for _, n, _, _ in string.Formatter().parse(template) if n]
            return template.format_map({n: self.resolve(n) for n in names})
        if isinstance(template, list | tuple):
            return [self.fill(item) for item in template]
        if isinstance(template, File):
            return (io.BytesIO(self.fill(template.text).encode()), template.filename)
        return template

    def _secret(self) -> str:
        return self.app.config["SECRET_KEY"]

    def fresh_gift_token(self) -> str:
        """A link to a new gift (from helper G) for someone who has no account yet."""
        number = next(self._numbers)
        with self.app.app_context():
            db = get_session()
            gift = commit_with_retry(
                db,
                lambda: gift_credits(
                    db,
                    db.get(User, self.users["amb_g"].id),
                    db.get(Cohort, self.ids["cohort"]),
                    recipient_name=f"Newcomer {number}",
                    recipient_email=f"newcomer{number}@crew.example",
                    relationship="crew",
                    message="",
                    sessions=1,
                    transfer_id=uuid.uuid4(),
                ),
            )
            self.subject = gift.recipient_id
            return make_token(self._secret(), "gift", {"g": gift.id, "n": gift.nonce})

    def fresh_invitation_token(self) -> str:
        """A link to a new invitation into C2, for someone who has no account yet."""
        number = next(self._numbers)
        with self.app.app_context():
            db = get_session()
            enrolment = commit_with_retry(
                db,
                lambda: invite(
                    db,
                    db.get(User, self.users["staff2"].id),
                    db.get(Cohort, self.ids["cohort2"]),
                    Invitee(
                        name=f"Invitee {number}",
                        artist_name="Invitees",
                        email=f"invitee{number}@band.example",
                        country="GB",
                    ),
                ),
            )
            self.subject = enrolment.user_id
            return make_token(
                self._secret(), "invitation", {"e": enrolment.id, "n": enrolment.invite_nonce}
            )

    def fresh_reset_token(self) -> str:
        """A password-reset link for a new account of its own."""
        number = next(self._numbers)
        with self.app.app_context():
            db = get_session()
            user = commit_with_retry(
                db,
                lambda: create_user(
                    db,
                    None,
                    email=f"forgetful{number}@example.org",
                    name=f"Forgetful {number}",
                    roles=("ambassador",),
                    password=PASSWORD,
                ),
            )
            self.subject = user.id
            return make_token(
                self._secret(), "password-reset", {"u": user.id, "g": user.session_generation}
            )

    # -- the database, whole ---------------------------------------------------------------

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every table (less login bookkeeping), to compare before and after."""
        engine = self.app.extensions["grants.engine"]
        tables: dict[str, list[tuple]] = {}
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                skip = BOOKKEEPING.get(table.name, set())
                columns = [c for c in table.columns if c.name not in skip]
                rows = connection.execute(select(*columns)).all()
                tables[table.name] = sorted(tuple(map(repr, row)) for row in rows)
        return tables

    def audit_count(self, user_id: int | None = None) -> int:
        """Audit entries in all, or those naming `user_id` as who acted."""
        with self.app.app_context():
            query = select(func.count()).select_from(AuditEntry)
            if user_id is not None:
                query = query.where(AuditEntry.actor_id == user_id)
            return get_session().scalar(query)


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


def _partner(db, name: str) -> int:
    settings = PartnerSettings(name=name, kind="therapy", currency="USD", regions=("US",))
    return save_partner(db, None, settings).id


def build_world(app, make_user, make_cohort) -> World:
    """The world described at the top of this module (a second or two on SQLite)."""
    app.config["MAIL_BACKEND"] = "none"  # emails stay queued: nothing but the app writes
    clock.set(T0)
    world = World(app)
    users = world.users
    ids = world.ids

    users["staff"] = make_user("staff", email="stella@staff.example", name="Stella Staff")
    users["staff2"] = make_user("staff", email="sol@staff.example", name="Sol Second")
    users["staff3"] = make_user("staff", email="sage@staff.example", name="Sage Third")
    users["finance"] = make_user("finance", email="fran@finance.example", name="Fran Finance")
    users["finance2"] = make_user("finance", email="fred@finance.example", name="Fred Builder")
    users["finance3"] = make_user("finance", email="flo@finance.example", name="Flo Approver")
    users["admin"] = make_user("admin", email="ada@admin.example", name="Ada Admin")
    users["amb_a"] = make_user("ambassador", email="ava@band.example", name="Ava Ashdown")
    # B signs in with two steps (not required of ambassadors, but allowed).
    users["amb_b"] = make_user(
        "ambassador", email="ben@band.example", name="Ben Bexley", two_step=True
    )
    users["amb_c"] = make_user("ambassador", email="cal@band.example", name="Cal Asks")
    users["amb_d"] = make_user("ambassador", email="dee@band.example", name="Dee Asks")
    users["amb_e"] = make_user("ambassador", email="eve@band.example", name="Eve Closing")
    users["amb_g"] = make_user("ambassador", email="gus@band.example", name="Gus Giver")
    # Logs in through the login form in the table (its own account, for the rate limits).
    users["lou"] = make_user("ambassador", email="lou@band.example", name="Lou Login")
    # Has two-step sign-in on; the table's two-step rows sign in as them.
    users["tess"] = make_user("staff", email="tess@staff.example", name="Tess Twostep")
    # Accounts admin changes: roles, disabling, enabling (Enzo is disabled below), and
    # resetting two-step sign-in.
    for key, role, name in (
        ("ulla", "ambassador", "Ulla Roles"),
        ("dora", "ambassador", "Dora Disable"),
        ("enzo", "ambassador", "Enzo Enable"),
        ("tom", "staff", "Tom Twostep"),
    ):
        users[key] = make_user(role, email=f"{key}@example.org", name=name)
        ids[key] = users[key].id

    with app.app_context():
        db = get_session()
        p, q, r = (
            commit_with_retry(db, lambda n=name: _partner(db, n))
            for name in ("Harbour Therapy", "Quay Counselling", "Reef Support")
        )
    ids.update(p=p, q=q, r=r, programme=PROGRAMME_ID)
    users["partner_p"] = make_user("partner", email="desk@harbour.example", partner_id=p)
    users["partner_q"] = make_user("partner", email="desk@quay.example", partner_id=q)

    cohort = make_cohort(
        funded=500,
        session_allowance=50,
        approval_threshold=50,
        open_gift_limit=100,
        gift_limit_per_recipient=6,
        session_value=12_000,
    )
    cohort2 = make_cohort(funded=100, region="GB", session_value=12_000)
    ids.update(cohort=cohort, cohort2=cohort2)
    for role in ("amb_a", "amb_b", "amb_c", "amb_d", "amb_g"):
        enrol_user(app, users[role], cohort)
    enrol_user(app, users["amb_e"], cohort2)
    grant_credits(app, users["amb_a"], cohort, 10, users["staff2"])
    grant_credits(app, users["amb_b"], cohort, 6, users["staff2"])
    grant_credits(app, users["amb_g"], cohort, 40, users["staff2"])

    with app.app_context():
        db = get_session()

        def person(role: str) -> User:
            return db.get(User, users[role].id)

        def place(role: str, cohort_id: int) -> Enrolment:
            return db.scalar(
                select(Enrolment).where(
                    Enrolment.user_id == users[role].id, Enrolment.cohort_id == cohort_id
                )
            )

        def run(work):
            return commit_with_retry(db, work)

        def gift(giver: str, name: str, email: str, sessions: int):
            return run(
                lambda: gift_credits(
                    db,
                    person(giver),
                    db.get(Cohort, cohort),
                    recipient_name=name,
                    recipient_email=email,
                    relationship="crew",
                    message="",
                    sessions=sessions,
                    transfer_id=uuid.uuid4(),
                )
            )

        def book(holder: str, partner_id: int):
            voucher = run(
                lambda: book_session(
                    db, person(holder), db.get(Cohort, cohort), partner_id, transfer_id=uuid.uuid4()
                )
            )
            return voucher.id, voucher.code

        consent_id = current_consent(db, PROGRAMME_ID).id

        # Funding requests: B's own (B may withdraw it), and two for staff to decide.
        for role, key in (("amb_b", "grant_b"), ("amb_c", "grant_c"), ("amb_d", "grant_d")):
            ids[key] = run(lambda r=role: ask_for_funding(db, person(r), place(r, cohort), 2)).id

        # The recipient: a crew member A gifted, who accepted (and so has an account).
        accepted = gift("amb_a", "Rita Roadcrew", "rita@crew.example", 2)
        run(
            lambda: accept_gift(
                db, accepted.id, accepted.nonce, consent_text_id=consent_id, new_password=PASSWORD
            )
        )
        rita = db.get(User, accepted.recipient_id)
        users["recipient"] = SimpleNamespace(id=rita.id, email=rita.email, name=rita.name)
        ids["gift_accept"] = gift("amb_a", "Rita Roadcrew", "rita@crew.example", 1).id
        ids["gift_decline"] = gift("amb_b", "Rita from the crew", "rita@crew.example", 1).id
        # What only A, or only B, should ever see of their own.
        ids["gift_a"] = gift("amb_a", "Alex Ampersand", "alex@crew.example", 1).id
        ids["gift_b"] = gift("amb_b", "Sam Sideman", "sam@crew.example", 2).id
        ids["voucher_a"], code_a = book("amb_a", p)
        ids["voucher_b"], code_b = book("amb_b", p)
        ids.update(code_a=show_code(code_a), code_b=show_code(code_b))
        # A gift link that stays open (the GET rows show it).
        link = gift("amb_g", "Nia Newcomer", "nia@crew.example", 1)
        ids["gift_token"] = make_token(
            app.config["SECRET_KEY"], "gift", {"g": link.id, "n": link.nonce}
        )

        # Payout batches, from partner grants (money owed straight to a partner):
        # lines for P ($100.00) and Q ($777.77), approved; one approved to pay whole; two
        # drafts, to approve and to discard. Each is built before the next grant exists.
        def owe(partner_id: int, amount: int) -> None:
            def work():
                grant = propose_partner_grant(
                    db,
                    person("staff2"),
                    db.get(Partner, partner_id),
                    amount=amount,
                    purpose="Outreach",
                    request_id=uuid.uuid4(),
                )
                approve_partner_grant(db, person("staff3"), grant.id)

            run(work)

        def batch(partner_ids: list[int], *, approved: bool):
            def work():
                built = build_batch(
                    db,
                    person("finance2"),
                    currency="USD",
                    cutoff=clock.today(),
                    partner_ids=partner_ids,
                    request_id=uuid.uuid4(),
                )
                if approved:
                    approve_batch(db, person("finance3"), built.id)
                return built.id, {line.partner_id: line.id for line in built.lines}

            return run(work)

        owe(p, 10_000)
        owe(q, 77_777)
        ids["batch_lines"], lines = batch([p, q], approved=True)
        ids.update(line_p=lines[p], line_q=lines[q])
        owe(p, 20_000)
        ids["batch_pay"], _ = batch([p], approved=True)
        owe(p, 30_000)
        ids["batch_approve"], _ = batch([p], approved=False)
        owe(p, 40_000)
        ids["batch_discard"], _ = batch([p], approved=False)

        # Sessions P and Q confirmed (owed, in no batch yet), and bookings to confirm.
        confirmed: dict[int, list[str]] = {p: [], q: []}
        for partner_id, desk in ((p, "partner_p"), (q, "partner_q"), (p, "partner_p")):
            _, code = book("amb_g", partner_id)
            run(lambda c=code, d=desk: confirm_session(db, person(d), c, clock.today()))
            confirmed[partner_id].append(show_code(code))
        ids.update(confirmed_p=confirmed[p], confirmed_q=confirmed[q])
        ids["to_confirm_p"] = show_code(book("amb_g", p)[1])
        ids["to_confirm_q"] = show_code(book("amb_g", q)[1])

        # Partner grants for staff: approve and decline (proposed by someone else),
        # withdraw (proposed by staff themselves).
        for key, proposer in (
            ("pg_approve", "staff2"),
            ("pg_decline", "staff2"),
            ("pg_withdraw", "staff"),
        ):
            ids[key] = run(
                lambda who=proposer: propose_partner_grant(
                    db,
                    person(who),
                    db.get(Partner, p),
                    amount=5_000,
                    purpose="Workshop",
                    request_id=uuid.uuid4(),
                )
            ).id

        # Cohort C2: invitations to resend and to withdraw, a place to close, staged lists.
        for key, number in (("enr_resend", 1), ("enr_revoke", 2)):
            ids[key] = run(
                lambda n=number: invite(
                    db,
                    person("staff2"),
                    db.get(Cohort, cohort2),
                    Invitee(
                        name=f"Pending {n}",
                        artist_name="Pendings",
                        email=f"pending{n}@band.example",
                        country="GB",
                    ),
                )
            ).id
        ids["enr_close"] = place("amb_e", cohort2).id
        ids["invitation_token"] = make_token(
            app.config["SECRET_KEY"],
            "invitation",
            {"e": ids["enr_revoke"], "n": db.get(Enrolment, ids["enr_revoke"]).invite_nonce},
        )
        for key, email in (
            ("import_confirm", "ivy@import.example"),
            ("import_discard", "ira@import.example"),
        ):
            text = f"name,artist_name,email,country\nIvy Import,Ivies,{email},GB\n"

            def stage(text=text):
                rows = check_places(db, db.get(Cohort, cohort2), read_enrolment_csv(text.encode()))
                staged = EnrolmentImport(
                    cohort_id=cohort2,
                    created_by_id=users["staff2"].id,
                    filename="list.csv",
                    rows=[row.as_dict() for row in rows],
                    row_count=len(rows),
                )
                db.add(staged)
                db.flush()
                return staged.id

            ids[key] = run(stage)

        # Directory entries: to edit, mark checked, retire, and one retired to restore.
        def entry(name: str) -> dict:
            return {
                "name": name,
                "country": "US",
                "languages": ["en"],
                "topics": ["crisis"],
                "channels": [{"kind": "phone", "value": "988"}],
                "hours": None,
                "free": "yes",
                "source": "https://example.org/help",
                "checked_on": clock.today(),
            }

        for key, name in (
            ("res_edit", "Edit Line"),
            ("res_check", "Check Line"),
            ("res_retire", "Retire Line"),
            ("res_restore", "Restore Line"),
        ):
            ids[key] = run(lambda n=name: add_entry(db, person("staff2"), entry(n))).id
        run(lambda: retire_entry(db, person("staff2"), ids["res_restore"]))
        run(lambda: disable(db, person("staff2"), person("enzo")))
    # Later the same day: a resend is no longer "a moment ago".
    clock.set(T0 + timedelta(hours=2))
    with app.app_context():  # a reset link lasts an hour: made now
        lou = get_session().get(User, users["lou"].id)
        ids["reset_token"] = make_token(
            app.config["SECRET_KEY"], "password-reset", {"u": lou.id, "g": lou.session_generation}
        )
    for role in ROLES:
        world.client(role)
    return world
