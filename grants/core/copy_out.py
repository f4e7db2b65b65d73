"""`COPY (query) TO STDOUT` on PostgreSQL, read straight from libpq, for exports that let the
database write the file.

psycopg's own `Cursor.copy()` hands over one row per call through its generator machinery,
about a microsecond a row: a million rows took 2.0 s where psql took 1.0 s. libpq's
blocking PQgetCopyData in a tight loop costs a third of a microsecond, so the export keeps
up with the database. The statement, its errors and its cancelling are handled here as
psycopg handles them.
"""

from __future__ import annotations

import logging
import select
from collections.abc import Generator, Iterator

from psycopg import Connection, errors, pq

log = logging.getLogger(__name__)

# Rows handed over at a time: about 100 kB of a payout detail, a steady stream to the client.
ROWS_PER_CHUNK = 1000


def is_utf8(connection: Connection) -> bool:
    """COPY writes in the client encoding; the exports are UTF-8 files."""
    return connection.pgconn.parameter_status(b"client_encoding") == b"UTF8"


def copy_out(connection: Connection, statement: str) -> Iterator[tuple[bytes, int]]:
    """What `statement` (a `COPY ... TO STDOUT`, after any settings: "SET LOCAL ...;
    COPY ...") writes, as COPY wrote it, in chunks of up to ROWS_PER_CHUNK rows: (the
    rows' bytes, how many rows). Closed early (a client that hangs up), the COPY is
    cancelled and the connection left ready for the next statement (a rollback first, if
    it was in a transaction: the cancel ends it)."""
    pgconn = connection.pgconn
    pgconn.send_query(statement.encode())
    _flush(pgconn)
    started = pgconn.get_result()
    while started is not None and started.status == pq.ExecStatus.COMMAND_OK:
        started = pgconn.get_result()  # a setting, made
    if started is None or started.status != pq.ExecStatus.COPY_OUT:
        failure = _finish(pgconn)
        raise _error(started or failure, pgconn)
    try:
        ended = yield from _chunks(pgconn)
    except BaseException:
        _cancel(connection)
        raise
    failure = _finish(pgconn)
    if ended == -2 or failure is not None:  # -2: libpq's own failure (the connection lost)
        raise _error(failure, pgconn)


def _chunks(pgconn: pq.abc.PGconn) -> Generator[tuple[bytes, int], None, int]:
    """Returns how the COPY ended: -1 at its end, -2 on a failure.

    The rows go straight into one buffer: a million rows kept as a million objects, even
    a thousand at a time, set off the garbage collector's full passes over the whole app
    (a second of the export's three)."""
    read, per_chunk = pgconn.get_copy_data, ROWS_PER_CHUNK
    buffer, rows = bytearray(), 0
    while True:
        size, row = read(0)  # waits for the next row
        if size < 0:
            break
        buffer += row
        rows += 1
        if rows == per_chunk:
            yield bytes(buffer), rows
            buffer.clear()
            rows = 0
    if rows:
        yield bytes(buffer), rows
    return size


def _cancel(connection: Connection) -> None:
    """Stop the database writing rows no one will read, and read what it already sent."""
    pgconn = connection.pgconn
    try:
        connection.cancel_safe(timeout=5.0)
    except Exception as error:  # the rows are read to the end anyway, only slower
        log.warning("COPY cancel failed: %s", error)
    while pgconn.get_copy_data(0)[0] >= 0:
        pass
    _finish(pgconn)


def _flush(pgconn: pq.abc.PGconn) -> None:
    # psycopg keeps its connections non-blocking: a statement may not all go at once.
    while pgconn.flush():
        select.select([], [pgconn.socket], [])


def _finish(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    """Read the statement's results to the end (libpq takes no new statement before); the
    first that is not a success, if any."""
    failure = None
    while (result := pgconn.get_result()) is not None:
        if failure is None and result.status != pq.ExecStatus.COMMAND_OK:
            failure = result
    return failure


def _error(result: pq.abc.PGresult | None, pgconn: pq.abc.PGconn) -> errors.Error:
    if result is None:
        return errors.OperationalError(pgconn.get_error_message())
    return errors.error_from_result(result, encoding="utf-8")
