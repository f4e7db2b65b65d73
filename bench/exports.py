"""Exports (issue 10, item 7): a payout batch of 1,000,000 session lines to CSV with the
project's own command (`flask payouts export`), against PostgreSQL's own
`COPY (the same query) TO STDOUT WITH CSV` through psql, both written to a file, in
alternating rounds; the command's peak memory; and the XLSX of the same batch, whose peak
memory must not grow with the rows (compared with a batch of a tenth).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy.dialects import postgresql

from bench import world as worlds
from bench.app_client import settings
from bench.common import (
    ROOT,
    Figure,
    absolute,
    emit,
    in_turn,
    libpq_args,
    median,
    scaled,
    scratch_postgres,
)
from grants.core.payout_reports import detail_query

NAME = "exports"
SESSIONS = scaled(1_000_000, 100_000)
ROUNDS = scaled(3, 2)
MEMORY_LIMIT_MB = 150
# BENCH_EXPORTS=csv measures the CSV figures only (the XLSX part takes minutes): for
# iterating on the CSV export; the default runs everything.
CSV_ONLY = os.environ.get("BENCH_EXPORTS") == "csv"


def _run(command: list[str], env: dict, stdout=subprocess.DEVNULL) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one command. The peak comes from GNU
    time: a child forked straight from this (large) process would report this process's
    peak, which Linux carries across exec."""
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        start = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", peak.name, *command],
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{command[:4]} failed: {done.stderr.decode()[-500:]}")
        return seconds, int(peak.read().split()[-1]) / 1024


def _env(url: str) -> dict:
    env = dict(os.environ)
    values = settings(url)
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=values["SECRET_KEY"],
        MAIL_BACKEND="none",
        GRANTS_ENV="development",
        GRANTS_INSTANCE_PATH=values["INSTANCE_PATH"],
    )
    return env


def project_export(url: str, batch_id: int, fmt: str, output: Path) -> tuple[float, float]:
    flask = str(ROOT / ".venv" / "bin" / "flask")
    command = [
        flask,
        "--app",
        "wsgi",
        "payouts",
        "export",
        "--batch",
        str(batch_id),
        "--format",
        fmt,
        "--output",
        str(output),
    ]
    return _run(command, _env(url))


def copy_export(url: str, batch_id: int, output: Path) -> tuple[float, float]:
    sql = str(
        detail_query(batch_id).compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
        )
    )
    command = [
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        *libpq_args(url),
        "-c",
        f"COPY ({sql}) TO STDOUT WITH CSV",
    ]
    with output.open("wb") as out:
        return _run(command, dict(os.environ), stdout=out)


def run() -> list[Figure]:
    with (
        scratch_postgres("grants_bench_exports") as url,
        tempfile.TemporaryDirectory(prefix="grants-bench-") as directory,
    ):
        world = worlds.build(
            url,
            people=10_000,
            sessions=SESSIONS,
            grant=SESSIONS // 10_000 + 10,
            gifts=0,
            open_requests=0,
            payout_batch=True,
        )
        out = Path(directory)
        ours, theirs, peaks = [], [], []

        def project():
            seconds, peak = project_export(url, world.batch_id, "csv", out / "ours.csv")
            ours.append(seconds)
            peaks.append(peak)

        def baseline():
            theirs.append(copy_export(url, world.batch_id, out / "copy.csv")[0])

        for index in range(ROUNDS):
            in_turn(index, project, baseline)
        lines = sum(1 for _ in (out / "ours.csv").open()) - 1  # less the header
        copied = sum(1 for _ in (out / "copy.csv").open())
        if not CSV_ONLY:
            xlsx_seconds, xlsx_peak = project_export(url, world.batch_id, "xlsx", out / "big.xlsx")
            _s, xlsx_small_peak = project_export(
                url, world.small_batch_id, "xlsx", out / "small.xlsx"
            )

    rows_note = f"{lines:,} lines written, {copied:,} by COPY"
    figures = [
        Figure(
            NAME,
            f"CSV of {SESSIONS:,} session lines vs COPY",
            median(ours),
            median(theirs),
            "s",
            2.0,
            higher_is_better=False,
            note=rows_note,
            rounds={"project": ours, "baseline": theirs},
            sound=lines == copied == SESSIONS,
        ),
        absolute(
            NAME,
            "CSV export, peak memory",
            max(peaks),
            "MB",
            MEMORY_LIMIT_MB,
            rounds={"project": peaks},
        ),
    ]
    if CSV_ONLY:
        return figures
    figures += [
        absolute(
            NAME,
            f"XLSX of {SESSIONS:,} lines, peak memory",
            xlsx_peak,
            "MB",
            MEMORY_LIMIT_MB,
            note=f"took {xlsx_seconds:.0f} s",
        ),
        Figure(
            NAME,
            "XLSX peak memory, all lines vs a tenth",
            xlsx_peak,
            xlsx_small_peak,
            "MB",
            1.25,
            higher_is_better=False,
            note="flat: ten times the rows, (nearly) the same memory",
        ),
    ]
    return figures


if __name__ == "__main__":
    emit(run())
