"""Tables with what real MySQL 8.0 care schemas hold and dumps get wrong, in each
family's dialect: STORED and VIRTUAL generated columns (mariadb-dump writes their
values, which MySQL refuses), an INVISIBLE column (left out of `SELECT *`), CHECK
constraints, JSON, DATETIME(6), non-BMP text, a table without a primary key, and on
MySQL a functional index and `utf8mb4_0900_ai_ci` (MariaDB 10.11 has neither)."""

from __future__ import annotations

from tests.localcluster.dbserver import DatabaseServer

FEATURE_TABLES = ("measurements", "contact_moments")


def _measurements(family: str) -> str:
    collation = "utf8mb4_0900_ai_ci" if family == "mysql" else "utf8mb4_unicode_ci"
    functional = ", INDEX idx_ref_lower ((LOWER(client_ref)))" if family == "mysql" else ""
    return f"""
CREATE TABLE measurements (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  client_ref VARCHAR(40) NOT NULL,
  taken_at DATETIME(6) NOT NULL,
  systolic SMALLINT NOT NULL,
  diastolic SMALLINT NOT NULL,
  pulse_pressure SMALLINT AS (systolic - diastolic) VIRTUAL,
  reading VARCHAR(20) AS (CONCAT(systolic, '/', diastolic)) STORED,
  staff_note VARCHAR(200) INVISIBLE DEFAULT 'intern',
  details JSON,
  CONSTRAINT chk_systolic CHECK (systolic BETWEEN 40 AND 300),
  CONSTRAINT chk_pressure CHECK (systolic > diastolic),
  INDEX idx_reading (reading){functional}
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={collation}"""


CONTACT_MOMENTS = """
CREATE TABLE contact_moments (
  client_ref VARCHAR(40) NOT NULL,
  said TEXT NOT NULL,
  at DATETIME(6) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""


def create_feature_tables(db: DatabaseServer, schema: str, rows: int = 30) -> None:
    with db.connect(database=schema) as conn, conn.cursor() as cur:
        cur.execute(_measurements(db.family))
        cur.execute(CONTACT_MOMENTS)
        for i in range(rows):
            details = (None if i % 5 == 0
                       else f'{{"device": "cuff-{i % 3}", "ok": {str(i % 2 == 0).lower()}}}')
            cur.execute(
                "INSERT INTO measurements (client_ref, taken_at, systolic, diastolic, staff_note, "
                "details) VALUES (%s, %s, %s, %s, %s, %s)",
                (f"C-{i:04d} Zoë 😀", f"2024-03-{1 + i % 28:02d} 08:{i % 60:02d}:01.{i:06d}",
                 110 + i, 70 + i % 20, None if i % 7 == 0 else f"alleen intern 𝄞 {i}",
                 details))
            cur.execute("INSERT INTO contact_moments VALUES (%s, %s, %s)",
                        (f"C-{i % 4:04d}", f"gesprek {i} — 'quoted' \\ backslash 🧾",
                         None if i % 3 else f"2024-04-01 10:00:0{i % 10}.5"))
        # Two identical rows: a table without a key keeps duplicates.
        cur.execute("INSERT INTO contact_moments VALUES ('C-dup', 'same', NULL), "
                    "('C-dup', 'same', NULL)")
