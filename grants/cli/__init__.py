"""Command-line tools: `flask --app wsgi <group> <command>`."""

from flask import Flask

from grants.cli import (
    db,
    demo,
    enrol,
    gifts,
    jobs,
    ledger,
    outbox,
    payouts,
    people,
    resources,
    users,
    vouchers,
)

GROUPS = (
    db,
    demo,
    enrol,
    gifts,
    jobs,
    ledger,
    outbox,
    payouts,
    people,
    resources,
    users,
    vouchers,
)


def register_commands(app: Flask) -> None:
    for module in GROUPS:
        app.cli.add_command(module.group)
