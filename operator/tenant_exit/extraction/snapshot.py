"""A consistent, read-only view of the tenant's schema for the whole run.

`START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` at REPEATABLE READ:
every table is read as of one moment (InnoDB MVCC), so a client row and its
allocations always agree, without locking the application out; READ ONLY makes
the server refuse any write in it, whatever the account may do.

Rows stream from a server-side cursor (pymysql SSCursor): the client holds one
batch at a time, never a result set. The cursor of one table is drained before
the next query, as the protocol requires.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pymysql.cursors

from tenant_exit.mysql.connect import Connection, connect


@dataclass(frozen=True)
class SnapshotInfo:
    server_version: str
    snapshot_time: datetime
    """The server's UTC clock right after the snapshot was taken."""


@contextmanager
def open_snapshot(host: str, port: int, user: str, password: str,
                  schema: str) -> Iterator[tuple[Connection, SnapshotInfo]]:
    conn = connect(host, port, user, password, database=schema, read_timeout=3600)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # Times come back as written; the run never converts zones.
            cur.execute("SET time_zone = '+00:00'")
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            cur.execute("SELECT VERSION(), UTC_TIMESTAMP(6)")
            version, moment = cur.fetchone()
        yield conn, SnapshotInfo(server_version=str(version), snapshot_time=moment)
    finally:
        try:
            conn.rollback()
        finally:
            conn.close()


def stream_rows(conn: Connection, query: str, batch_rows: int
                ) -> Iterator[Sequence[Sequence[Any]]]:
    """Batches of at most `batch_rows` rows of `query`, from a server-side cursor."""
    cur = conn.cursor(pymysql.cursors.SSCursor)
    try:
        cur.execute(query)
        while True:
            rows = cur.fetchmany(batch_rows)
            if not rows:
                return
            yield rows
    finally:
        cur.close()  # drains what is left, so the connection can run the next query
