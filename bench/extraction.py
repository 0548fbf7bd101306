"""`make bench-extraction`: the extraction's table streaming against a plain fetch.

On one MariaDB table of BENCH_EXTRACT_ROWS rows (default 5,000,000; id, a client
id, DATETIME(6), DECIMAL(12,2), DATE, a short string), each measured in its own
process so peak RSS is that process's own:

  fetch     a plain pymysql SSCursor fetch loop over the same SELECT (baseline:
            what reading the rows costs at all)
  ours      snapshot -> SSCursor -> row groups -> Parquet (zstd) with the client id
            pseudonymised (HMAC-SHA256) and the date transformed to a year, into
            a counting null sink (no S3: the object store is the backup bench's
            subject)

at 1x and at 1/10 of the rows (`ours` at both sizes: peak RSS must stay flat,
bounded by one row group). Prints rows/s, MB/s of Parquet written, peak RSS.
Knobs: BENCH_EXTRACT_ROWS, BENCH_ROWS_PER_GROUP (default 50,000), BENCH_WORKDIR.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.localcluster.mariadb import MariaDBServer

from tenant_exit.api.datamodel import DataModelSpec
from tenant_exit.extraction.parquet import CountingSink, write_table
from tenant_exit.extraction.pseudonym import Pseudonymiser
from tenant_exit.extraction.run import output_columns
from tenant_exit.extraction.snapshot import open_snapshot, stream_rows

SCHEMA = "bench_extract"
QUERY = "SELECT id, client_id, at, amount, born, kind FROM visits"
MODEL = {
    "version": "1.0.0", "title": "bench",
    "tables": [{"name": "visits", "description": "Bench table.", "query": QUERY, "columns": [
        {"name": "id", "type": "integer", "nullable": False, "classification": "plain",
         "description": "Id."},
        {"name": "client_id", "type": "string", "nullable": False,
         "classification": "pseudonymised", "domain": "client", "description": "Client."},
        {"name": "at", "type": "timestamp", "nullable": False, "classification": "plain",
         "description": "When."},
        {"name": "amount", "type": "decimal(12,2)", "nullable": False,
         "classification": "plain", "description": "Amount."},
        {"name": "born", "type": "integer", "nullable": False, "classification": "identifying",
         "transform": "birthYear", "description": "Birth year."},
        {"name": "kind", "type": "string", "nullable": False, "classification": "plain",
         "description": "Kind."},
    ]}],
}


class NullTarget:
    def write(self, data: bytes) -> int:
        return len(data)


def seed(server: MariaDBServer, rows: int) -> None:
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {SCHEMA}")
        cur.execute(f"USE {SCHEMA}")
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s "
                    "AND TABLE_NAME='visits'", [SCHEMA])
        if cur.fetchone()[0]:
            cur.execute("SELECT COUNT(*) FROM visits")
            if cur.fetchone()[0] == rows:
                return
            cur.execute("DROP TABLE visits")
        cur.execute("CREATE TABLE visits (id BIGINT PRIMARY KEY, client_id INT NOT NULL, "
                    "at DATETIME(6) NOT NULL, amount DECIMAL(12,2) NOT NULL, born DATE NOT NULL, "
                    "kind VARCHAR(24) NOT NULL) ENGINE=InnoDB")
        cur.execute("INSERT INTO visits SELECT seq, seq % 50000, "
                    "TIMESTAMP('2021-01-01') + INTERVAL seq SECOND + INTERVAL (seq % 999999) "
                    "MICROSECOND, (seq % 100000) / 100, DATE('1925-01-01') + INTERVAL "
                    "(seq % 30000) DAY, ELT(1 + seq % 3, 'verpleging', 'begeleiding', 'intake') "
                    f"FROM seq_1_to_{rows}")


def child(mode: str, host: str, port: int, password: str, rows: int, group: int) -> None:
    started = time.monotonic()
    result: dict[str, float] = {}
    with open_snapshot(host, port, "root", password, SCHEMA) as (conn, _):
        query = f"{QUERY} LIMIT {rows}"
        if mode == "fetch":
            count = 0
            for batch in stream_rows(conn, query, group):
                count += len(batch)
            result = {"rows": count, "bytes": 0}
        else:
            spec = DataModelSpec.model_validate(MODEL)
            columns = output_columns(spec.tables[0], Pseudonymiser(b"b" * 32, 1))
            sink = CountingSink(NullTarget())
            written = write_table(stream_rows(conn, query, group), columns, "visits", sink)
            result = {"rows": written.rows, "bytes": sink.size}
    result["seconds"] = time.monotonic() - started
    print(json.dumps(result))


def measure(mode: str, server: MariaDBServer, rows: int, group: int) -> dict[str, float]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.extraction", "--child", mode, server.host,
         str(server.port), server.root_password, str(rows), str(group)],
        stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    assert status == 0, f"{mode} failed"
    assert proc.stdout is not None
    result: dict[str, float] = json.loads(proc.stdout.read())
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, host, port, password, rows, group = sys.argv[2:8]
        child(mode, host, int(port), password, int(rows), int(group))
        return 0
    rows = int(os.environ.get("BENCH_EXTRACT_ROWS", "5000000"))
    group = int(os.environ.get("BENCH_ROWS_PER_GROUP", "50000"))
    workdir = Path(os.environ.get("BENCH_WORKDIR") or tempfile.mkdtemp(prefix="bench-extract-"))
    with MariaDBServer(workdir=workdir / "mariadb", buffer_pool="512M") as server:
        t0 = time.monotonic()
        seed(server, rows)
        print(f"seeded {rows} rows in {time.monotonic() - t0:.0f}s", flush=True)
        for label, mode, n in (("fetch 1x", "fetch", rows), ("ours 1/10", "ours", rows // 10),
                               ("ours 1x", "ours", rows)):
            r = measure(mode, server, n, group)
            mb = r["bytes"] / 1e6
            print(f"{label:<10} rows={int(r['rows'])} {r['seconds']:.1f}s "
                  f"{r['rows'] / r['seconds']:,.0f} rows/s parquet={mb:.1f}MB "
                  f"({mb / r['seconds']:.1f} MB/s) peak_rss={r['peak_rss_mb']:.0f}MB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
