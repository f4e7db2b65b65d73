"""Pages at scale (issue 10, item 5): the wallet home, the staff queue and the finance home
with 100,000 people and 1,000,000 transfers, against the same pages with 1,000 people and
10,000 transfers (the same mix at a hundredth). Target: at most 1.5x the small time.

Both databases are built once (bench.world), then each page is asked for through the app
(Flask's test client, signed in as a person of the right role) in rounds that alternate
between the two; each round's figure is the median of several requests. The SQL statements
per page are counted too: they must not grow with the rows.
"""

from __future__ import annotations

import statistics
import time

from sqlalchemy import event

from bench import world as worlds
from bench.app_client import make_app, sign_in
from bench.common import Figure, emit, in_turn, median, scaled, scratch_postgres

NAME = "pages at scale"
PAGES = {
    "wallet home": ("ambassador", "/wallet/"),
    "staff queue": ("staff", "/staff/requests"),
    "finance home": ("finance", "/finance/"),
}
ROUNDS = scaled(5, 2)
REQUESTS = scaled(15, 5)
BIG = scaled(
    {"people": 100_000, "sessions": 266_667, "gifts": 50_000, "open_requests": 2_000},
    {"people": 20_000, "sessions": 53_333, "gifts": 10_000, "open_requests": 400},
)
SMALL = {"people": 1_000, "sessions": 2_667, "gifts": 500, "open_requests": 20}


class Site:
    """One world's app, with a signed-in client per role and a statement counter."""

    def __init__(self, url: str, world: worlds.World) -> None:
        self.app = make_app(url)
        self.statements = 0
        event.listen(self.app.extensions["grants.engine"], "before_cursor_execute", self._count)
        emails = {
            "ambassador": world.ambassador_email,
            "staff": world.staff_email,
            "finance": world.finance_email,
        }
        self.clients = {
            role: sign_in(self.app.test_client(), world, email) for role, email in emails.items()
        }

    def _count(self, *_args) -> None:
        self.statements += 1

    def time(self, page: str) -> tuple[float, int]:
        """Median seconds for `page` over REQUESTS requests, and its statements."""
        role, path = PAGES[page]
        client = self.clients[role]
        times = []
        for _ in range(REQUESTS):
            before = self.statements
            start = time.perf_counter()
            answer = client.get(path)
            times.append(time.perf_counter() - start)
            if answer.status_code != 200:
                raise RuntimeError(f"{path} answered {answer.status_code}")
            statements = self.statements - before
        return statistics.median(times), statements

    def close(self) -> None:
        self.app.extensions["grants.engine"].dispose()


def run() -> list[Figure]:
    with (
        scratch_postgres("grants_bench_small") as small_url,
        scratch_postgres("grants_bench_big") as big_url,
    ):
        small_world = worlds.build(small_url, **SMALL)
        big_world = worlds.build(big_url, **BIG)
        small, big = Site(small_url, small_world), Site(big_url, big_world)
        times = {page: {"big": [], "small": []} for page in PAGES}
        counts = {page: {} for page in PAGES}
        for page in PAGES:  # warm both: templates compiled, statements prepared
            small.time(page)
            big.time(page)
        for index in range(ROUNDS):
            for page in PAGES:

                def measure(site, key, page=page):
                    seconds, statements = site.time(page)
                    times[page][key].append(seconds)
                    counts[page][key] = statements

                in_turn(index, lambda m=measure: m(big, "big"), lambda m=measure: m(small, "small"))
        small.close()
        big.close()

    figures = []
    for page in PAGES:
        big_n, small_n = counts[page]["big"], counts[page]["small"]
        figures.append(
            Figure(
                NAME,
                f"{page}, {big_world.transfers:,} vs {small_world.transfers:,} transfers",
                median(times[page]["big"]) * 1000,
                median(times[page]["small"]) * 1000,
                "ms",
                1.5,
                higher_is_better=False,
                note=f"{big_n} SQL statements with many rows, {small_n} with few",
                rounds={"project": times[page]["big"], "baseline": times[page]["small"]},
                # The two people's pages differ a little in kind (bookings or not: one more
                # statement); a statement per row would add dozens.
                sound=big_n <= small_n + 2,
            )
        )
    return figures


if __name__ == "__main__":
    emit(run())
