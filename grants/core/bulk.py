"""Statements over thousands of rows at once, for the bulk operations (a CSV import).

An ORM object per row costs more than the row itself, and even Core's lists of values are
slow on PostgreSQL: psycopg splits a statement's text in Python at every placeholder, and a
multi-row VALUES or a long IN (...) has one per value. So on PostgreSQL each list travels
as one array parameter (`unnest` for rows to insert, `= ANY` for values to match); SQLite
(no arrays, and a parser in C) takes Core's multi-row VALUES and IN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Row,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values`, as one array parameter on PostgreSQL."""
    if not _on_postgresql(session):
        return column.in_(values)
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in the caller's transaction.
    Columns left out get their defaults, as a Core insert would give them (on PostgreSQL a
    callable default, the clock, is asked once for all the rows)."""
    if rows:
        session.execute(_insert(session, table, rows), None if _on_postgresql(session) else rows)


def insert_returning(
    session: Session, table: Table, rows: list[dict[str, Any]], *returning: Column
) -> list[Row]:
    """insert_rows, returning `returning` of each new row, in no promised order: match them
    by a key."""
    if not rows:
        return []
    statement = _insert(session, table, rows).returning(*returning)
    if not _on_postgresql(session):
        return session.execute(statement, rows).all()
    return session.execute(statement).all()


def _insert(session: Session, table: Table, rows: list[dict[str, Any]]):
    if not _on_postgresql(session):
        return insert(table)  # the rows go as an executemany
    # A value shared by every row (the cohort, the clock's time) goes once, not as an array.
    shared = {
        name: rows[0][name] for name in rows[0] if all(r[name] == rows[0][name] for r in rows)
    }
    varying = [name for name in rows[0] if name not in shared]
    if not varying:  # one row, or all alike: unnest still makes the rows
        first = next(iter(shared))
        varying, shared = [first], {k: v for k, v in shared.items() if k != first}
    columns = (
        func.unnest(
            *(
                bindparam(f"{name}_array", [r[name] for r in rows], type_=ARRAY(table.c[name].type))
                for name in varying
            )
        )
        .table_valued(*varying)
        .render_derived()
    )
    values = select(
        *(columns.c[name] for name in varying),
        *(literal(value, type_=table.c[name].type) for name, value in shared.items()),
    )
    return insert(table).from_select([*varying, *shared], values)
