"""Command-line tools: `flask --app wsgi <group> <command>`."""

from flask import Flask

from grants.cli import db, demo, ledger, users


def register_commands(app: Flask) -> None:
    for group in (db.group, demo.group, ledger.group, users.group):
        app.cli.add_command(group)
