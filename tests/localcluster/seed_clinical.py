"""The clinical tables of the demo tenant: what MySQL 8.0 care schemas hold
beyond the classic administration tables, on both families where the
dialect allows.

- `care_measurements`: DATETIME(6), a VIRTUAL and a STORED generated column,
  an INVISIBLE column, JSON, a CHECK constraint, an index on a virtual column;
  on MySQL also a functional index (MariaDB has none).
- `care_notes`: a FULLTEXT index over emoji and non-BMP text.
- `client_locations`: a spatial column with a SPATIAL index (SRID 4326 on
  MySQL, which MariaDB's column syntax lacks).
- `appointment_history`: a RANGE-partitioned table (InnoDB allows no foreign
  keys on it, so it has none).
- `international_contacts`: utf8mb4_0900_ai_ci / _as_cs collations, MySQL
  only: MariaDB 10.11 does not know them (loading such a dump into MariaDB
  fails with ERROR 1273).
- `scanned_records`: LONGBLOBs; `large_blob_bytes` adds one scan of that size
  (over 16 MiB: above the clients' default packet limit), opt-in because it
  makes every dump of the schema that much bigger.

Programs: a trigger on the generated-column table, a function, a procedure
with SQL SECURITY INVOKER, views with DEFINER and SQL SECURITY, a disabled
event. Every table and column has a comment (the data dictionary reads them).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from tests.localcluster.dbserver import Family
from tests.localcluster.seed_care import EPOCH

_CLASSIC = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
# Text a utf8 (3-byte) column would mangle: emoji and other non-BMP characters.
NON_BMP_NOTES = (
    "Cliënt was vrolijk vandaag 🙂, wandeling gemaakt 🚶‍♀️",
    "Muziektherapie: 𝄞 herkende het lied meteen",
    "Familie uit Taiwan op bezoek: 𠜎𠜱 (naam in het dossier)",
    "Medicatie gegeven 💊 om 08:00, geen bijzonderheden",
)
MYSQL_ONLY_TABLES = ("international_contacts",)


def tables(family: Family) -> tuple[str, ...]:
    """The clinical tables created on `family`, parents first."""
    names = ("care_measurements", "care_notes", "client_locations", "appointment_history",
             "scanned_records")
    return names + (MYSQL_ONLY_TABLES if family == "mysql" else ())


def schema_ddl(family: Family) -> list[str]:
    mysql = family == "mysql"
    functional_index = ",\n  KEY ix_care_measurements_day ((DATE(measured_at)))" if mysql else ""
    srid = " SRID 4326" if mysql else ""
    ddl = [
        f"""CREATE TABLE care_measurements (
  id BIGINT UNSIGNED NOT NULL COMMENT 'Measurement id.',
  client_id INT UNSIGNED NOT NULL COMMENT 'Client measured.',
  measured_at DATETIME(6) NOT NULL COMMENT 'When it was measured, to the microsecond.',
  weight_kg DECIMAL(5,2) NOT NULL COMMENT 'Body weight in kg.',
  height_cm DECIMAL(5,1) NOT NULL COMMENT 'Body height in cm.',
  bmi DECIMAL(5,2) GENERATED ALWAYS AS (ROUND(weight_kg / POW(height_cm / 100, 2), 2)) VIRTUAL
    COMMENT 'Body mass index, computed from weight and height (virtual).',
  weight_class VARCHAR(20) GENERATED ALWAYS AS (CASE
      WHEN weight_kg / POW(height_cm / 100, 2) < 18.5 THEN 'ondergewicht'
      WHEN weight_kg / POW(height_cm / 100, 2) < 25 THEN 'normaal'
      ELSE 'overgewicht' END) STORED
    COMMENT 'Weight class from the BMI (stored).',
  device_ref VARCHAR(40) NULL INVISIBLE
    COMMENT 'Measuring device; invisible to SELECT *, set by trigger.',
  readings JSON NOT NULL COMMENT 'Raw device readings (JSON).',
  PRIMARY KEY (id),
  KEY ix_care_measurements_client (client_id),
  KEY ix_care_measurements_bmi (bmi){functional_index},
  CONSTRAINT fk_care_measurements_client FOREIGN KEY (client_id) REFERENCES clients (id)
    ON DELETE CASCADE,
  CONSTRAINT chk_care_measurements_weight CHECK (weight_kg > 0 AND weight_kg < 500),
  CONSTRAINT chk_care_measurements_height CHECK (height_cm BETWEEN 30 AND 250)
) {_CLASSIC} COMMENT='Weight and height measurements (metingen) with device readings.'""",
        f"""CREATE TABLE care_notes (
  id INT UNSIGNED NOT NULL COMMENT 'Note id.',
  client_id INT UNSIGNED NOT NULL COMMENT 'Client the note is about.',
  written_at DATETIME(6) NOT NULL COMMENT 'When the note was written.',
  body TEXT NOT NULL COMMENT 'The note (rapportage), may hold emoji and non-BMP text.',
  PRIMARY KEY (id),
  KEY ix_care_notes_client (client_id),
  FULLTEXT KEY ft_care_notes_body (body),
  CONSTRAINT fk_care_notes_client FOREIGN KEY (client_id) REFERENCES clients (id)
    ON DELETE CASCADE
) {_CLASSIC} COMMENT='Daily care notes, searchable in full text.'""",
        f"""CREATE TABLE client_locations (
  client_id INT UNSIGNED NOT NULL COMMENT 'Client whose home this is.',
  location POINT NOT NULL{srid} COMMENT 'Home location (WGS 84) for route planning.',
  PRIMARY KEY (client_id),
  SPATIAL KEY sx_client_locations_location (location),
  CONSTRAINT fk_client_locations_client FOREIGN KEY (client_id) REFERENCES clients (id)
    ON DELETE CASCADE
) {_CLASSIC} COMMENT='Geocoded home addresses of clients.'""",
        f"""CREATE TABLE appointment_history (
  id BIGINT UNSIGNED NOT NULL COMMENT 'Archived appointment id.',
  starts_on DATE NOT NULL COMMENT 'Day of the appointment.',
  client_id INT UNSIGNED NOT NULL COMMENT 'Client visited (no foreign key: partitioned).',
  minutes SMALLINT UNSIGNED NOT NULL COMMENT 'Minutes of care delivered.',
  PRIMARY KEY (id, starts_on)
) {_CLASSIC} COMMENT='Archived appointments, partitioned by year.'
PARTITION BY RANGE (YEAR(starts_on)) (
  PARTITION p2021 VALUES LESS THAN (2022),
  PARTITION p2022 VALUES LESS THAN (2023),
  PARTITION p2023 VALUES LESS THAN (2024),
  PARTITION pmax VALUES LESS THAN MAXVALUE
)""",
        f"""CREATE TABLE scanned_records (
  id INT UNSIGNED NOT NULL COMMENT 'Scan id.',
  client_id INT UNSIGNED NOT NULL COMMENT 'Client the scanned paper record belongs to.',
  content LONGBLOB NOT NULL COMMENT 'The scan (TIFF).',
  content_sha256 CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'SHA-256 of content, hex.',
  PRIMARY KEY (id),
  CONSTRAINT fk_scanned_records_client FOREIGN KEY (client_id) REFERENCES clients (id)
    ON DELETE CASCADE
) {_CLASSIC} COMMENT='Scanned paper records from before the electronic dossier.'""",
    ]
    if mysql:
        ddl.append("""CREATE TABLE international_contacts (
  id INT UNSIGNED NOT NULL COMMENT 'Contact id.',
  client_id INT UNSIGNED NOT NULL COMMENT 'Client whose contact this is.',
  name VARCHAR(200) NOT NULL COMMENT 'Name as written, accent- and case-insensitive.',
  name_exact VARCHAR(200) COLLATE utf8mb4_0900_as_cs NOT NULL
    COMMENT 'Name, accent- and case-sensitive.',
  PRIMARY KEY (id),
  CONSTRAINT fk_international_contacts_client FOREIGN KEY (client_id) REFERENCES clients (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci
COMMENT='Relatives abroad, in the MySQL 8.0 default collation.'""")
    return ddl


PROGRAM_DDL: tuple[str, ...] = (
    """CREATE TRIGGER trg_care_measurements_device BEFORE INSERT ON care_measurements
  FOR EACH ROW SET NEW.device_ref = COALESCE(NEW.device_ref, CONCAT('weegschaal-', NEW.id))""",
    """CREATE FUNCTION bmi_class(p_bmi DECIMAL(5,2)) RETURNS VARCHAR(20)
  DETERMINISTIC NO SQL
  COMMENT 'The weight class of a body mass index.'
  RETURN CASE WHEN p_bmi < 18.5 THEN 'ondergewicht' WHEN p_bmi < 25 THEN 'normaal'
         ELSE 'overgewicht' END""",
    """CREATE DEFINER = CURRENT_USER PROCEDURE latest_measurement(IN p_client_id INT UNSIGNED)
  READS SQL DATA SQL SECURITY INVOKER
  COMMENT 'The latest measurement of a client, with the caller''s rights.'
  SELECT id, measured_at, weight_kg, bmi FROM care_measurements
  WHERE client_id = p_client_id ORDER BY measured_at DESC LIMIT 1""",
    """CREATE DEFINER = CURRENT_USER SQL SECURITY INVOKER VIEW v_client_bmi AS
  SELECT m.client_id, c.full_name, m.measured_at, m.bmi, m.weight_class
  FROM care_measurements m JOIN clients c ON c.id = m.client_id""",
    """CREATE DEFINER = CURRENT_USER SQL SECURITY DEFINER VIEW v_recent_notes AS
  SELECT client_id, written_at, body FROM care_notes
  WHERE written_at >= '2021-06-01'""",
    """CREATE DEFINER = CURRENT_USER EVENT ev_archive_appointments
  ON SCHEDULE EVERY 1 MONTH DISABLE
  COMMENT 'Housekeeping: move old appointments to the history table.'
  DO INSERT IGNORE INTO appointment_history (id, starts_on, client_id, minutes)
     SELECT id, DATE(starts_at), client_id, duration_minutes FROM appointments
     WHERE starts_at < NOW() - INTERVAL 2 YEAR""",
)

TRIGGERS = ("trg_care_measurements_device",)
FUNCTIONS = ("bmi_class",)
PROCEDURES = ("latest_measurement",)
VIEWS = ("v_client_bmi", "v_recent_notes")
EVENTS = ("ev_archive_appointments",)

Row = tuple[Any, ...]


def measurement_rows(seed: int, clients: int) -> Iterator[Row]:
    rng = random.Random(f"measurements-{seed}")
    for i in range(1, 3 * clients + 1):
        moment = EPOCH + timedelta(days=i, microseconds=rng.randrange(1_000_000))
        weight, height = round(rng.uniform(45, 120), 2), round(rng.uniform(150, 200), 1)
        readings = {"device": f"scale-{i % 7}", "raw": [weight, height], "unit": "kg",
                    "opmerking": "nuchter gemeten ✓"}
        # Every other row names its device; the trigger fills in the rest.
        device = f"weegschaal-{i % 7}" if i % 2 else None
        yield (i, 1 + (i - 1) % clients, moment, weight, height, device,
               json.dumps(readings, ensure_ascii=False))


def note_rows(seed: int, clients: int) -> Iterator[Row]:
    rng = random.Random(f"notes-{seed}")
    for i in range(1, 2 * clients + 1):
        moment = EPOCH + timedelta(hours=7 * i, microseconds=rng.randrange(1_000_000))
        yield (i, 1 + (i - 1) % clients, moment, NON_BMP_NOTES[i % len(NON_BMP_NOTES)])


def location_rows(seed: int, clients: int) -> Iterator[Row]:
    rng = random.Random(f"locations-{seed}")
    for client in range(1, clients + 1):
        # Around Groningen; latitude first, as SRID 4326's axis order is on MySQL.
        yield (client, f"POINT({53.2 + rng.uniform(-0.2, 0.2):.6f} "
                       f"{6.56 + rng.uniform(-0.3, 0.3):.6f})")


def history_rows(clients: int) -> Iterator[Row]:
    for i in range(1, 4 * clients + 1):
        day = EPOCH.date() + timedelta(days=(i * 97) % 1300)
        yield (i, day, 1 + (i - 1) % clients, 15 + (i * 7) % 90)


def contact_rows(clients: int) -> Iterator[Row]:
    names = ("José Müller", "jose muller", "Ærøskøbing Ødegård", "Łukasz Żółć 🌍")
    for i in range(1, clients + 1):
        name = names[i % len(names)]
        yield (i, i, name, name)


SCAN_SIZE_STEPS = 500


def scan_rows(seed: int, clients: int, large_blob_bytes: int) -> Iterator[Row]:
    count = max(1, clients // 10)
    for i in range(1, count + 1):
        # Sizes cycle from 2 KiB to about 50 KiB: growing with i, they made the data
        # quadratic in `clients` (85,000 clients gave 7 GB of scans, not ~1 GB of SQL).
        size = 2048 + 97 * ((i - 1) % SCAN_SIZE_STEPS + 1)
        content = b"II*\x00" + random.Random(f"scan-{seed}-{i}").randbytes(size)
        yield (i, 1 + (i - 1) % clients, content, hashlib.sha256(content).hexdigest())
    if large_blob_bytes:
        # Incompressible enough to stay large in the dump, cheap to make.
        block = random.Random(f"large-scan-{seed}").randbytes(1 << 16)
        content = (block * (large_blob_bytes // len(block) + 1))[:large_blob_bytes]
        yield (count + 1, 1, content, hashlib.sha256(content).hexdigest())
