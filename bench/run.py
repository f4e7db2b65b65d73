"""Run every benchmark, print one table, and write the figures to bench/results.json.

    python -m bench.run [NAME ...]     # all, or only the named ones (ledger_pg, http, ...)
    BENCH_QUICK=1 python -m bench.run  # a smaller, quicker run while developing
    python -m bench.run --markdown     # the latest results as docs/benchmarks.md's table

Benchmarks are never part of `make test`: the same-run ratios are what they report.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime

from bench.common import QUICK, ROOT, print_table

BENCHMARKS = ("ledger_pg", "ledger_sqlite", "scale", "http", "exports", "bulk")
RESULTS = ROOT / "bench" / ("results-quick.json" if QUICK else "results.json")


def machine() -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model")]
            cpu = names[0] if names else cpu
    except OSError:
        pass
    server = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": server.strip(),
        "load_average_at_start": os.getloadavg(),
    }


def markdown(report: dict) -> str:
    """The figures as a Markdown table, for docs/benchmarks.md."""
    lines = [
        "| benchmark | figure | project | baseline | ratio | target | |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in report["figures"]:
        sign = ">=" if f["higher_is_better"] else "<="
        note = f" ({f['note']})" if f.get("note") else ""
        lines.append(
            f"| {f['benchmark']} | {f['name']}{note} | {_number(f['project'])} {f['unit']} "
            f"| {_number(f['baseline'])} {f['unit']} | {f['ratio']:.2f}x "
            f"| {sign} {f['target']:g}x | {'met' if f['met'] else '**missed**'} |"
        )
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def main(argv: list[str] | None = None) -> int:
    asked = argv if argv is not None else sys.argv[1:]
    if asked == ["--markdown"]:
        print(markdown(json.loads(RESULTS.read_text(encoding="utf-8"))))
        return 0
    names = asked or list(BENCHMARKS)
    figures, failed, took = [], [], {}
    started = time.perf_counter()
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        begun = time.perf_counter()
        try:
            figures.extend(importlib.import_module(f"bench.{name}").run())
        except Exception:
            traceback.print_exc()
            failed.append(name)
        took[name] = round(time.perf_counter() - begun, 1)
        print(f"   {took[name]} s", file=sys.stderr, flush=True)
    when = datetime.now(UTC).isoformat(timespec="seconds")
    report = {
        "when": when,
        "quick": QUICK,
        "machine": machine(),
        "seconds": {**took, "total": round(time.perf_counter() - started, 1)},
        "failed": failed,
        "figures": [{**f.as_dict(), "when": when} for f in figures],
    }
    if asked and RESULTS.exists():
        # Some benchmarks only: the others' latest figures stay, each with its own date.
        rerun = {importlib.import_module(f"bench.{name}").NAME for name in names}
        earlier = json.loads(RESULTS.read_text(encoding="utf-8"))
        kept = [f for f in earlier["figures"] if f["benchmark"] not in rerun]
        for figure in kept:
            figure.setdefault("when", earlier["when"])
        report["figures"] = kept + report["figures"]
        report["seconds"] = {**earlier.get("seconds", {}), **report["seconds"]}
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print()
    print_table(figures)
    met = sum(f.met for f in figures)
    print(f"\n{met} of {len(figures)} figures meet their target; written to {RESULTS.name}")
    if failed:
        print(f"benchmarks that did not finish: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
