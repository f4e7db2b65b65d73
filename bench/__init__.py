"""Benchmarks against the physical limit (issue 10): `make bench`, or `python -m bench.run`.
Each module runs one benchmark on its own too (`python -m bench.ledger_pg`)."""
