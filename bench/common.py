"""What every benchmark shares: scratch databases, interleaved rounds, medians, figures.

A figure is the project's number over its baseline's, measured in the same run on the same
machine, rounds interleaved (project, baseline, project, baseline ...) so that whatever else
the machine is doing falls on both alike; the median round counts.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grants.core import schema  # noqa: E402
from grants.core.db import make_engine  # noqa: E402

# The PostgreSQL server to benchmark on; each benchmark makes its own scratch databases
# there and drops them afterwards, so the `test` database is never touched.
PG_SERVER = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
QUICK = os.environ.get("BENCH_QUICK") == "1"


def scaled(full, quick):
    """`quick` under BENCH_QUICK=1 (a smaller run while developing), else `full`."""
    return quick if QUICK else full


# --- figures -----------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure: the project's value, its baseline's, and the target ratio."""

    benchmark: str
    name: str
    project: float
    baseline: float
    unit: str  # e.g. "transfers/s", "s", "MB"
    target: float  # the ratio to reach
    higher_is_better: bool = True  # throughput: project/baseline >= target;
    # durations and memory: project/baseline <= target
    note: str = ""
    rounds: dict = field(default_factory=dict)  # every round's raw values, for the record
    # A condition besides the ratio (no errors left, no deadlocks, the ledger verifies).
    sound: bool = True

    @property
    def ratio(self) -> float:
        return self.project / self.baseline if self.baseline else float("inf")

    @property
    def met(self) -> bool:
        within = self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target
        return within and self.sound

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(ratio=round(self.ratio, 3), met=self.met)
        return data


def absolute(benchmark, name, value, unit, limit, note="", rounds=None) -> Figure:
    """A figure against a fixed limit (peak memory in MB), not a measured baseline."""
    return Figure(benchmark, name, value, limit, unit, 1.0, False, note=note, rounds=rounds or {})


def print_table(figures: list[Figure], out=sys.stdout) -> None:
    rows = [("benchmark", "figure", "project", "baseline", "ratio", "target", "")]
    for f in figures:
        sign = ">=" if f.higher_is_better else "<="
        rows.append(
            (
                f.benchmark,
                f.name,
                f"{_short(f.project)} {f.unit}",
                f"{_short(f.baseline)} {f.unit}",
                f"{f.ratio:.2f}x",
                f"{sign} {f.target:g}x",
                "met" if f.met else "MISSED",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)), file=out)
        if index == 0:
            print("  ".join("-" * width for width in widths), file=out)


def _short(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def emit(figures: list[Figure]) -> None:
    """What a benchmark run on its own prints: a table, then its figures as JSON."""
    print_table(figures)
    print(json.dumps([f.as_dict() for f in figures], indent=2))


# --- measuring ---------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def interleaved(
    rounds: int, project: Callable[[], float], baseline: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """Run project and baseline alternately, `rounds` times each (A B A B ...), starting
    with the other one every second round so neither always goes first."""
    ours: list[float] = []
    theirs: list[float] = []
    for index in range(rounds):
        if index % 2 == 0:
            ours.append(project())
            theirs.append(baseline())
        else:
            theirs.append(baseline())
            ours.append(project())
    return ours, theirs


def in_turn(index: int, *runs: Callable[[], object]) -> None:
    """Run `runs` in order on even rounds and in reverse on odd ones, so a round's
    project and baseline runs sit side by side and neither always goes first."""
    for run in runs if index % 2 == 0 else reversed(runs):
        run()


def timed(work: Callable[[], object]) -> float:
    """Seconds `work()` takes (wall clock)."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


# --- databases ---------------------------------------------------------------------------


def _server_engine():
    return make_engine(PG_SERVER, isolation_level="AUTOCOMMIT")


def pg_url(database: str) -> str:
    return make_url(PG_SERVER).set(database=database).render_as_string(hide_password=False)


def libpq_args(url: str) -> list[str]:
    """-h/-p/-U/dbname for the PostgreSQL command-line tools (pgbench, psql)."""
    parsed = make_url(url)
    return [
        "-h",
        parsed.host or "127.0.0.1",
        "-p",
        str(parsed.port or 5432),
        "-U",
        parsed.username or "postgres",
        parsed.database,
    ]


@contextlib.contextmanager
def scratch_postgres(prefix: str, *, migrate: bool = True) -> Iterator[str]:
    """A new PostgreSQL database (migrated to the newest revision unless told not to),
    dropped afterwards whatever happens. Yields its SQLAlchemy URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    server = _server_engine()
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = pg_url(name)
    try:
        if migrate:
            engine = make_engine(url)
            schema.upgrade(engine)
            engine.dispose()
        yield url
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@contextlib.contextmanager
def scratch_sqlite(directory: Path, name: str = "bench.db") -> Iterator[str]:
    """A migrated SQLite file in `directory`. Yields its URL."""
    path = directory / name
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    yield url


def analyse(url: str) -> None:
    """Fresh planner statistics after a bulk setup, as autovacuum would give a real
    database in time: plans are then the ones production would get."""
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


# --- pgbench -----------------------------------------------------------------------------

_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


def pgbench_init(url: str, scale: int) -> None:
    subprocess.run(
        ["pgbench", "-i", "-q", "-s", str(scale), *libpq_args(url)],
        check=True,
        capture_output=True,
    )


def pgbench_tps(url: str, *, clients: int, seconds: float, extra: list[str] = ()) -> float:
    """Transactions per second of `pgbench -b tpcb-like -M prepared` with `clients`."""
    done = subprocess.run(
        [
            "pgbench",
            "-b",
            "tpcb-like",
            "-M",
            "prepared",
            "-n",  # no vacuum first: every round runs on the tables as they are
            "-c",
            str(clients),
            "-j",
            str(min(clients, os.cpu_count() or 1)),
            "-T",
            str(max(int(seconds), 1)),
            *extra,
            *libpq_args(url),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    match = _TPS.search(done.stdout)
    if not match:
        raise RuntimeError(f"pgbench printed no tps: {done.stdout[-500:]}")
    return float(match.group(1))


def peak_rss_mb_of_children() -> float:
    """Peak resident memory of the waited-for child processes, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
