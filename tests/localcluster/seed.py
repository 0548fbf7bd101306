"""The demo tenant: a realistic Dutch care-record schema and documents volume.

`seed_tenant()` creates, in one MariaDB/MySQL schema (InnoDB, utf8mb4), what a
care organisation's environment holds: clients with BSN-like ids and accented
Dutch names, care plans, appointments, invoices, payroll corrections,
employees, document metadata, signature BLOBs — and the tables a backup must
leave out (`audit_log`, `import_batches`/`import_rows`, `export_jobs`). It adds
the objects a dump must carry (foreign keys, a generated column, triggers, a
function, a procedure, a view, a disabled event) and a comment on every table
and column, because the backup's data dictionary is built from those comments.

Beside the schema it writes a documents tree: client folders with files of
mixed size and awkward names, plus `import/`, `export/` and `tmp/` folders that
backups exclude. Everything is deterministic for a given `seed`.

Rows scale with `clients` (about 10 appointments and 3 invoices per client);
inserts go in multi-row batches with unique/foreign key checks off, so
gigabyte-sized seeds for the benchmark take minutes, not hours.

The tables live in one module per table family: seed_care.py (the care
record and its administration), seed_clinical.py (the clinical tables with
the MySQL 8.0 features), seed_documents.py (the documents tree); this module
creates the schema, loads the rows and the account, and reports.

CLI: `python -m tests.localcluster.seed --help`.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pymysql

from tests.localcluster import seed_clinical as clinical
from tests.localcluster.dbserver import Family
from tests.localcluster.seed_care import (
    EPOCH,
    PROGRAM_DDL,
    SCHEMA_COLLATION,
    SCHEMA_DDL,
    Row,
    Volumes,
    appointment_rows,
    audit_rows,
    care_plan_rows,
    client_names,
    client_rows,
    employee_rows,
    export_job_rows,
    import_batch_rows,
    import_row_rows,
    invoice_rows,
    payroll_rows,
    signature_rows,
    sql_timestamp,
)
from tests.localcluster.seed_documents import (
    CLIENTS_DIR,
    EXCLUDED_DIRS,
    file_content,
    plan_documents,
    write_documents,
)

__all__ = ["CLIENTS_DIR", "EVENTS", "EXCLUDED_DIRS", "EXCLUDED_TABLES", "FUNCTIONS",
           "PROCEDURES", "SCHEMA_COLLATION", "TRIGGERS", "VIEWS", "SeedReport",
           "app_user_name", "drop_tenant", "plan_documents", "seed_tenant"]

ConnectionFactory = Callable[[], Any]

# Tables the backup must leave out (logging and import/export), matching the
# spec's default excludeTables patterns "*.audit_*", "*.import_*", "*.export_*".
EXCLUDED_TABLES: tuple[str, ...] = ("audit_log", "import_batches", "import_rows", "export_jobs")

_BATCH_ROWS = 2000
# pymysql folds executemany() INSERTs into multi-row statements up to this
# size; MariaDB's and MySQL's default max_allowed_packet (16M/64M) fit it.
_MAX_STATEMENT_BYTES = 4 * 1024 * 1024



# The programs of both table families (the clinical ones: seed_clinical.py).
TRIGGERS = ("trg_clients_audit_update", "trg_invoices_paid", *clinical.TRIGGERS)
FUNCTIONS = ("age_on", *clinical.FUNCTIONS)
PROCEDURES = ("open_invoice_total", *clinical.PROCEDURES)
VIEWS = ("v_open_invoices", *clinical.VIEWS)
EVENTS = ("ev_purge_import_rows", *clinical.EVENTS)

APP_PRIVILEGES = (
    "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, "
    "CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, "
    "CREATE ROUTINE, ALTER ROUTINE, TRIGGER, EVENT"
)


def app_user_name(schema: str) -> str:
    """The application account of a schema; MySQL 5.7 allows 32 characters."""
    return f"app_{schema}"[:32]


# --------------------------------------------------------------------------
# Side effects: schema, load, account
# --------------------------------------------------------------------------


@dataclass
class SeedReport:
    """What was seeded. `rows` counts every table, excluded ones included."""

    schema: str
    rows: dict[str, int]
    excluded_tables: tuple[str, ...]
    documents_dir: Path | None
    files: int
    file_bytes: int
    excluded_files: int
    excluded_file_bytes: int
    excluded_dirs: tuple[str, ...]
    app_user: str
    app_password: str = field(repr=False)
    seconds: float = 0.0
    family: str = ""

    @property
    def kept_tables(self) -> list[str]:
        return [t for t in self.rows if t not in self.excluded_tables]

    def to_dict(self, include_secrets: bool = False) -> dict[str, Any]:
        data = asdict(self)
        data["documents_dir"] = str(self.documents_dir) if self.documents_dir else None
        if not include_secrets:
            data.pop("app_password")
        return data


def _connect(conn_factory_or_server: Any) -> Any:
    connect = getattr(conn_factory_or_server, "connect", None)
    if callable(connect):
        return connect()
    return conn_factory_or_server()


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def _family(cur: Any) -> Family:
    """The server's family, as the server reports it."""
    cur.execute("SELECT @@version, @@version_comment")
    version, comment = cur.fetchone()
    return "mariadb" if "mariadb" in f"{version} {comment}".lower() else "mysql"


def _insert_locations(cur: Any, rows: Iterable[Row]) -> int:
    """Points as WKT through ST_GeomFromText, in multi-row batches (executemany
    would send one statement per row: its values are not bare placeholders)."""
    total = 0
    batch: list[Row] = []

    def flush() -> None:
        values = ", ".join(["(%s, ST_GeomFromText(%s, 4326))"] * len(batch))
        cur.execute(f"INSERT INTO client_locations (client_id, location) VALUES {values}",
                    [v for row in batch for v in row])
        cur.connection.commit()

    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH_ROWS:
            flush()
            total += len(batch)
            batch.clear()
    if batch:
        flush()
        total += len(batch)
    return total


def _seed_clinical(cur: Any, family: Family, seed: int, clients: int,
                   large_blob_bytes: int) -> dict[str, int]:
    rows: dict[str, int] = {}
    rows["care_measurements"] = _insert(
        cur, "care_measurements",
        ("id", "client_id", "measured_at", "weight_kg", "height_cm", "device_ref", "readings"),
        clinical.measurement_rows(seed, clients))
    rows["care_notes"] = _insert(cur, "care_notes", ("id", "client_id", "written_at", "body"),
                                 clinical.note_rows(seed, clients))
    rows["client_locations"] = _insert_locations(cur, clinical.location_rows(seed, clients))
    rows["appointment_history"] = _insert(
        cur, "appointment_history", ("id", "starts_on", "client_id", "minutes"),
        clinical.history_rows(clients))
    rows["scanned_records"] = _insert(
        cur, "scanned_records", ("id", "client_id", "content", "content_sha256"),
        clinical.scan_rows(seed, clients, large_blob_bytes))
    if family == "mysql":
        rows["international_contacts"] = _insert(
            cur, "international_contacts", ("id", "client_id", "name", "name_exact"),
            clinical.contact_rows(clients))
    return rows


def _insert(cur: Any, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
    sql = (f"INSERT INTO {_quote(table)} ({', '.join(map(_quote, columns))}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    total = 0
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH_ROWS:
            cur.executemany(sql, batch)
            cur.connection.commit()
            total += len(batch)
            batch.clear()
    if batch:
        cur.executemany(sql, batch)
        cur.connection.commit()
        total += len(batch)
    return total


def seed_tenant(
    conn_factory_or_server: Any,
    schema: str,
    *,
    clients: int,
    documents_dir: Path | None,
    files: int,
    seed: int = 0,
    replace: bool = False,
    max_file_bytes: int = 1024 * 1024,
    app_password: str | None = None,
    large_blob_bytes: int = 0,
) -> SeedReport:
    """Create `schema` with the care-record and clinical tables, load rows,
    write documents.

    `conn_factory_or_server` is a `MariaDBServer` (anything with `.connect()`)
    or a zero-argument callable returning a pymysql connection with privileges
    to create schemas and users. `documents_dir=None` seeds only the database
    (the `documents` rows are still created, pointing at files not written).
    `large_blob_bytes` (e.g. 17 << 20) adds one scan of that size; the server
    needs a max_allowed_packet of about twice that.
    """
    if clients < 2:
        raise ValueError("clients must be at least 2 (the two fixed demo clients)")
    started = time.monotonic()
    volumes = Volumes.for_clients(clients)
    names = client_names(seed, clients)
    kept_files, excluded_files = plan_documents(seed, files, names, max_file_bytes)

    digests: dict[str, str] = {}
    if documents_dir is not None:
        documents_dir.mkdir(parents=True, exist_ok=True)
        digests = write_documents(documents_dir, seed, kept_files)
        write_documents(documents_dir, seed, excluded_files)
    else:
        digests = {p.relative_path: hashlib.sha256(file_content(seed, p)).hexdigest()
                   for p in kept_files}

    conn = _connect(conn_factory_or_server)
    with conn, conn.cursor() as cur:
        family = _family(cur)
        cur.execute("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s",
                    (schema,))
        exists = cur.fetchone()[0] > 0
        if exists and not replace:
            raise FileExistsError(f"schema {schema!r} exists; pass replace=True to recreate it")
        cur.execute(f"DROP DATABASE IF EXISTS {_quote(schema)}")
        cur.execute(f"CREATE DATABASE {_quote(schema)} "
                    f"DEFAULT CHARACTER SET utf8mb4 COLLATE {SCHEMA_COLLATION[family]}")
        conn.select_db(schema)
        for ddl in (*SCHEMA_DDL, *clinical.schema_ddl(family), *PROGRAM_DDL,
                    *clinical.PROGRAM_DDL):
            cur.execute(ddl.replace("COLLATE=utf8mb4_unicode_ci",
                                    f"COLLATE={SCHEMA_COLLATION[family]}"))

        # Bulk load: the generators produce consistent keys, so skip per-row
        # checks; pymysql turns each executemany() into a few large INSERTs.
        cur.max_stmt_length = _MAX_STATEMENT_BYTES
        cur.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0")
        conn.autocommit(False)
        rows: dict[str, int] = {}
        rows["employees"] = _insert(
            cur, "employees",
            ("id", "personnel_number", "first_name", "last_name", "role", "email", "hired_on"),
            employee_rows(seed, volumes))
        rows["clients"] = _insert(
            cur, "clients",
            ("id", "bsn", "first_name", "name_prefix", "last_name", "date_of_birth", "gender",
             "street", "house_number", "postal_code", "city", "phone", "primary_employee_id",
             "notes", "created_at"),
            client_rows(seed, volumes, names))
        rows["care_plans"] = _insert(
            cur, "care_plans",
            ("id", "client_id", "title", "goals", "starts_on", "ends_on", "status", "author_id"),
            care_plan_rows(seed, volumes))
        rows["appointments"] = _insert(
            cur, "appointments",
            ("id", "client_id", "employee_id", "care_plan_id", "starts_at", "duration_minutes",
             "kind", "status", "location", "notes"),
            appointment_rows(seed, volumes))
        rows["invoices"] = _insert(
            cur, "invoices",
            ("id", "client_id", "invoice_number", "period_start", "period_end",
             "amount_excl_vat", "vat_rate", "status", "issued_at", "paid_at"),
            invoice_rows(seed, volumes))
        rows["payroll_corrections"] = _insert(
            cur, "payroll_corrections",
            ("id", "employee_id", "period", "hours", "amount", "reason", "approved_by"),
            payroll_rows(seed, volumes))
        rows["documents"] = _insert(
            cur, "documents",
            ("id", "client_id", "relative_path", "title", "mime_type", "size_bytes", "sha256",
             "uploaded_by", "uploaded_at"),
            ((i, p.client_id, p.relative_path, p.title, p.mime_type, p.size,
              digests[p.relative_path], 1 + i % volumes.employees,
              sql_timestamp(EPOCH + timedelta(hours=3 * i)))
             for i, p in enumerate(kept_files, start=1)))
        rows["signatures"] = _insert(
            cur, "signatures",
            ("id", "client_id", "care_plan_id", "signed_by_name", "image", "image_sha256",
             "signed_at"),
            signature_rows(seed, volumes, names))
        rows["audit_log"] = _insert(
            cur, "audit_log",
            ("id", "occurred_at", "actor", "table_name", "row_id", "action", "details"),
            audit_rows(seed, volumes))
        rows["import_batches"] = _insert(
            cur, "import_batches",
            ("id", "source", "file_name", "started_at", "finished_at", "status"),
            import_batch_rows(volumes))
        rows["import_rows"] = _insert(
            cur, "import_rows", ("id", "batch_id", "line_no", "payload", "status", "message"),
            import_row_rows(volumes))
        rows["export_jobs"] = _insert(
            cur, "export_jobs",
            ("id", "requested_by", "kind", "file_path", "status", "created_at"),
            export_job_rows(volumes))
        rows.update(_seed_clinical(cur, family, seed, clients, large_blob_bytes))
        cur.execute("SET SESSION unique_checks = 1, foreign_key_checks = 1")
        conn.autocommit(True)

        user = app_user_name(schema)
        password = app_password or secrets.token_urlsafe(18)
        cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))
        cur.execute(f"GRANT {APP_PRIVILEGES} ON {_quote(schema)}.* TO %s@'%%'", (user,))

    return SeedReport(
        schema=schema,
        rows=rows,
        excluded_tables=EXCLUDED_TABLES,
        documents_dir=documents_dir,
        files=len(kept_files),
        file_bytes=sum(p.size for p in kept_files),
        excluded_files=len(excluded_files),
        excluded_file_bytes=sum(p.size for p in excluded_files),
        excluded_dirs=EXCLUDED_DIRS,
        app_user=user,
        app_password=password,
        seconds=round(time.monotonic() - started, 3),
        family=family,
    )


def drop_tenant(conn_factory_or_server: Any, schema: str) -> None:
    """Remove a seeded schema and its application account (idempotent)."""
    conn = _connect(conn_factory_or_server)
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {_quote(schema)}")
        cur.execute("DROP USER IF EXISTS %s@'%%'", (app_user_name(schema),))


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tests.localcluster.seed",
        description="Seed a demo care-organisation tenant: a MariaDB/MySQL schema and a "
                    "documents tree. Prints a JSON report.",
    )
    p.add_argument("--host", default=os.environ.get("MYSQL_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("MYSQL_TCP_PORT", "3306")))
    p.add_argument("--socket", default=None, help="unix socket (instead of host/port)")
    p.add_argument("--user", default=os.environ.get("MYSQL_USER", "root"))
    p.add_argument("--password", default=None,
                   help="password (default: $MYSQL_PWD; prefer the env var to keep it out of ps)")
    p.add_argument("--schema", required=True, help="schema (database) to create")
    p.add_argument("--clients", type=int, default=100,
                   help="number of clients (rows scale with it)")
    p.add_argument("--files", type=int, default=50, help="number of client documents to write")
    p.add_argument("--max-file-bytes", type=int, default=1024 * 1024)
    p.add_argument("--documents-dir", type=Path, default=None,
                   help="root of the documents tree (omit to seed the database only)")
    p.add_argument("--seed", type=int, default=0, help="seed of the pseudo-random content")
    p.add_argument("--replace", action="store_true", help="drop the schema first if it exists")
    p.add_argument("--large-blob-bytes", type=int, default=0,
                   help="add one scanned record of this size (e.g. 17825792 for 17 MiB)")
    p.add_argument("--show-password", action="store_true",
                   help="include the application account's password in the report")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    password = args.password if args.password is not None else os.environ.get("MYSQL_PWD", "")

    def factory() -> Any:
        target: dict[str, Any] = (
            {"unix_socket": args.socket} if args.socket else {"host": args.host, "port": args.port}
        )
        return pymysql.connect(user=args.user or getpass.getuser(), password=password,
                               charset="utf8mb4", autocommit=True, **target)

    report = seed_tenant(factory, args.schema, clients=args.clients,
                         documents_dir=args.documents_dir, files=args.files, seed=args.seed,
                         replace=args.replace, max_file_bytes=args.max_file_bytes,
                         large_blob_bytes=args.large_blob_bytes)
    json.dump(report.to_dict(include_secrets=args.show_password), sys.stdout, indent=2,
              ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
