"""The care-record tables of the demo tenant: their DDL and programs (MariaDB
and MySQL alike), how many rows a tenant of N clients has, and pure row
generators with Dutch names and BSN-like ids. Deterministic for a given seed."""

from __future__ import annotations

import hashlib
import math
import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tests.localcluster.dbserver import Family

EPOCH = datetime(2021, 1, 4, 8, 0, 0)


# --------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------

# The schema's and tables' collation: MariaDB's usual one; on MySQL the 8.0
# default. (MySQL prints a column that inherits a collation other than its
# character set's default as `COLLATE x`, but the same column reloaded from a
# dump -- which states it -- as `CHARACTER SET utf8mb4 COLLATE x`: SHOW CREATE
# TABLE would differ after a faithful round trip.)
SCHEMA_COLLATION: dict[Family, str] = {"mariadb": "utf8mb4_unicode_ci",
                                       "mysql": "utf8mb4_0900_ai_ci"}
_TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"

# Order matters: parents before children (foreign keys).
SCHEMA_DDL: tuple[str, ...] = (
    f"""CREATE TABLE employees (
  id INT UNSIGNED NOT NULL COMMENT 'Internal employee id.',
  personnel_number VARCHAR(16) NOT NULL
    COMMENT 'Personnel number (personeelsnummer) used by payroll.',
  first_name VARCHAR(100) NOT NULL COMMENT 'Given name.',
  last_name VARCHAR(150) NOT NULL COMMENT 'Family name.',
  role ENUM('wijkverpleegkundige','verzorgende','begeleider','planner','administratie','teamleider')
    NOT NULL COMMENT 'Job role; determines which care activities the employee may record.',
  email VARCHAR(200) NULL COMMENT 'Work e-mail address.',
  hired_on DATE NOT NULL COMMENT 'First working day.',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP COMMENT 'When the row was created.',
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
    COMMENT 'When the row last changed.',
  PRIMARY KEY (id),
  UNIQUE KEY uq_employees_personnel_number (personnel_number)
) {_TABLE_OPTIONS} COMMENT='Care workers and office staff of the organisation (medewerkers).'""",
    f"""CREATE TABLE clients (
  id INT UNSIGNED NOT NULL COMMENT 'Internal client id (cliëntnummer).',
  bsn CHAR(9) NOT NULL
    COMMENT 'Burgerservicenummer: Dutch citizen service number (synthetic, passes the 11-test).',
  first_name VARCHAR(100) NOT NULL COMMENT 'Given name as registered.',
  name_prefix VARCHAR(20) NOT NULL DEFAULT ''
    COMMENT 'Surname prefix (tussenvoegsel), e.g. van, de, van ''t.',
  last_name VARCHAR(150) NOT NULL COMMENT 'Family name without prefix.',
  full_name VARCHAR(300) GENERATED ALWAYS AS
    (CONCAT_WS(' ', first_name, NULLIF(name_prefix, ''), last_name)) STORED
    COMMENT 'Display name, computed from the name parts.',
  date_of_birth DATE NOT NULL COMMENT 'Date of birth.',
  gender ENUM('M','V','X') NOT NULL COMMENT 'Registered gender: M man, V vrouw, X unspecified.',
  street VARCHAR(150) NOT NULL COMMENT 'Street of the home address.',
  house_number VARCHAR(10) NOT NULL COMMENT 'House number with addition.',
  postal_code CHAR(7) NOT NULL COMMENT 'Dutch postal code, e.g. 8911 AB.',
  city VARCHAR(100) NOT NULL COMMENT 'City of the home address.',
  phone VARCHAR(20) NULL COMMENT 'Contact phone number.',
  primary_employee_id INT UNSIGNED NULL
    COMMENT 'Contact person (eerst verantwoordelijke) among the employees.',
  notes TEXT NULL COMMENT 'Free-text remarks by the care team.',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP COMMENT 'When the client was registered.',
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
    COMMENT 'When the row last changed.',
  PRIMARY KEY (id),
  UNIQUE KEY uq_clients_bsn (bsn),
  KEY ix_clients_last_name (last_name),
  CONSTRAINT fk_clients_primary_employee FOREIGN KEY (primary_employee_id)
    REFERENCES employees (id) ON DELETE SET NULL
) {_TABLE_OPTIONS} COMMENT='Clients receiving care (cliënten); the core of the medical record.'""",
    f"""CREATE TABLE care_plans (
  id INT UNSIGNED NOT NULL COMMENT 'Care plan id.',
  client_id INT UNSIGNED NOT NULL COMMENT 'Client the plan belongs to.',
  title VARCHAR(200) NOT NULL COMMENT 'Short title of the plan.',
  goals TEXT NOT NULL COMMENT 'Agreed care goals (zorgdoelen), free text.',
  starts_on DATE NOT NULL COMMENT 'First day the plan applies.',
  ends_on DATE NULL COMMENT 'Last day the plan applies; NULL while open-ended.',
  status ENUM('concept','actief','afgesloten') NOT NULL
    COMMENT 'concept draft, actief in force, afgesloten closed.',
  author_id INT UNSIGNED NOT NULL COMMENT 'Employee who wrote the plan.',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP COMMENT 'When the plan was created.',
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
    COMMENT 'When the row last changed.',
  PRIMARY KEY (id),
  KEY ix_care_plans_client (client_id),
  CONSTRAINT fk_care_plans_client FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE CASCADE,
  CONSTRAINT fk_care_plans_author FOREIGN KEY (author_id) REFERENCES employees (id)
) {_TABLE_OPTIONS} COMMENT='Care plans (zorgplannen) with the goals agreed with the client.'""",
    f"""CREATE TABLE appointments (
  id BIGINT UNSIGNED NOT NULL COMMENT 'Appointment id.',
  client_id INT UNSIGNED NOT NULL COMMENT 'Client visited.',
  employee_id INT UNSIGNED NOT NULL COMMENT 'Employee who delivers the care.',
  care_plan_id INT UNSIGNED NULL COMMENT 'Care plan the visit is part of, if any.',
  starts_at DATETIME NOT NULL COMMENT 'Planned start (local time, Europe/Amsterdam).',
  duration_minutes SMALLINT UNSIGNED NOT NULL COMMENT 'Planned duration in minutes.',
  kind ENUM('persoonlijke verzorging','verpleging','begeleiding','huishoudelijke hulp','intake')
    NOT NULL COMMENT 'Kind of care delivered.',
  status ENUM('gepland','uitgevoerd','geannuleerd') NOT NULL
    COMMENT 'gepland planned, uitgevoerd done, geannuleerd cancelled.',
  location VARCHAR(100) NOT NULL COMMENT 'Where the care takes place.',
  notes VARCHAR(500) NULL COMMENT 'Report of the visit (rapportage).',
  PRIMARY KEY (id),
  KEY ix_appointments_client_start (client_id, starts_at),
  KEY ix_appointments_employee_start (employee_id, starts_at),
  CONSTRAINT fk_appointments_client FOREIGN KEY (client_id) REFERENCES clients (id)
    ON DELETE CASCADE,
  CONSTRAINT fk_appointments_employee FOREIGN KEY (employee_id) REFERENCES employees (id),
  CONSTRAINT fk_appointments_care_plan FOREIGN KEY (care_plan_id) REFERENCES care_plans (id)
    ON DELETE SET NULL
) {_TABLE_OPTIONS}
COMMENT='Planned and delivered care visits (afspraken), the basis for billing.'""",
    f"""CREATE TABLE invoices (
  id INT UNSIGNED NOT NULL COMMENT 'Invoice id.',
  client_id INT UNSIGNED NOT NULL COMMENT 'Client billed (or whose insurer is billed).',
  invoice_number VARCHAR(20) NOT NULL COMMENT 'Invoice number as printed, e.g. F2024-000123.',
  period_start DATE NOT NULL COMMENT 'First day of the billed period.',
  period_end DATE NOT NULL COMMENT 'Last day of the billed period.',
  amount_excl_vat DECIMAL(12,2) NOT NULL COMMENT 'Amount excluding VAT, in euro.',
  vat_rate DECIMAL(4,2) NOT NULL COMMENT 'VAT percentage (care is usually exempt: 0.00).',
  status ENUM('concept','verzonden','betaald','gecrediteerd') NOT NULL
    COMMENT 'concept draft, verzonden sent, betaald paid, gecrediteerd credited.',
  issued_at DATETIME NULL COMMENT 'When the invoice was sent.',
  paid_at DATETIME NULL
    COMMENT 'When payment was received; set by trigger when status becomes betaald.',
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
    COMMENT 'When the row last changed.',
  PRIMARY KEY (id),
  UNIQUE KEY uq_invoices_number (invoice_number),
  KEY ix_invoices_client (client_id),
  CONSTRAINT fk_invoices_client FOREIGN KEY (client_id) REFERENCES clients (id)
) {_TABLE_OPTIONS} COMMENT='Invoices (facturen) for delivered care.'""",
    f"""CREATE TABLE payroll_corrections (
  id INT UNSIGNED NOT NULL COMMENT 'Correction id.',
  employee_id INT UNSIGNED NOT NULL COMMENT 'Employee whose pay is corrected.',
  period CHAR(7) NOT NULL COMMENT 'Payroll period, YYYY-MM.',
  hours DECIMAL(6,2) NOT NULL COMMENT 'Hours added (positive) or removed (negative).',
  amount DECIMAL(10,2) NOT NULL COMMENT 'Gross amount of the correction, in euro.',
  reason VARCHAR(300) NOT NULL COMMENT 'Why the correction was made.',
  approved_by INT UNSIGNED NULL COMMENT 'Team leader who approved it; NULL while pending.',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP COMMENT 'When the correction was entered.',
  PRIMARY KEY (id),
  KEY ix_payroll_corrections_period (period),
  CONSTRAINT fk_payroll_corrections_employee FOREIGN KEY (employee_id) REFERENCES employees (id),
  CONSTRAINT fk_payroll_corrections_approver FOREIGN KEY (approved_by) REFERENCES employees (id)
) {_TABLE_OPTIONS}
COMMENT='Corrections to employee pay (looncorrecties), kept for payroll audits.'""",
    f"""CREATE TABLE documents (
  id INT UNSIGNED NOT NULL COMMENT 'Document id.',
  client_id INT UNSIGNED NOT NULL COMMENT 'Client the document belongs to.',
  relative_path VARCHAR(700) NOT NULL
    COMMENT 'Path of the file in the documents volume, relative to its root.',
  title VARCHAR(255) NOT NULL COMMENT 'Title shown in the application.',
  mime_type VARCHAR(100) NOT NULL COMMENT 'Media type of the file.',
  size_bytes BIGINT UNSIGNED NOT NULL COMMENT 'File size in bytes.',
  sha256 CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'SHA-256 of the file content, hex.',
  uploaded_by INT UNSIGNED NULL COMMENT 'Employee who uploaded the file.',
  uploaded_at DATETIME NOT NULL COMMENT 'When the file was uploaded.',
  PRIMARY KEY (id),
  UNIQUE KEY uq_documents_path (relative_path),
  KEY ix_documents_client (client_id),
  CONSTRAINT fk_documents_client FOREIGN KEY (client_id) REFERENCES clients (id),
  CONSTRAINT fk_documents_uploader FOREIGN KEY (uploaded_by) REFERENCES employees (id)
    ON DELETE SET NULL
) {_TABLE_OPTIONS}
COMMENT='Metadata of client documents; the files live in the documents volume.'""",
    f"""CREATE TABLE signatures (
  id INT UNSIGNED NOT NULL COMMENT 'Signature id.',
  client_id INT UNSIGNED NOT NULL COMMENT 'Client (or representative) who signed.',
  care_plan_id INT UNSIGNED NULL COMMENT 'Care plan signed for approval, if any.',
  signed_by_name VARCHAR(200) NOT NULL COMMENT 'Name of the person who signed.',
  image MEDIUMBLOB NOT NULL COMMENT 'Handwritten signature as a PNG image.',
  image_sha256 CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'SHA-256 of image, hex.',
  signed_at DATETIME NOT NULL COMMENT 'When it was signed.',
  PRIMARY KEY (id),
  KEY ix_signatures_client (client_id),
  CONSTRAINT fk_signatures_client FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE CASCADE,
  CONSTRAINT fk_signatures_care_plan FOREIGN KEY (care_plan_id) REFERENCES care_plans (id)
    ON DELETE SET NULL
) {_TABLE_OPTIONS} COMMENT='Signatures (handtekeningen) approving care plans, stored as images.'""",
    f"""CREATE TABLE audit_log (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'Log entry id.',
  occurred_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'When it happened.',
  actor VARCHAR(100) NOT NULL COMMENT 'Database or application user who acted.',
  table_name VARCHAR(64) NOT NULL COMMENT 'Table touched.',
  row_id BIGINT UNSIGNED NOT NULL COMMENT 'Primary key of the row touched.',
  action ENUM('insert','update','delete','view') NOT NULL COMMENT 'What was done.',
  details TEXT NULL COMMENT 'JSON with changed fields.',
  PRIMARY KEY (id),
  KEY ix_audit_log_table_row (table_name, row_id)
) {_TABLE_OPTIONS} COMMENT='Access and change log (logging); NOT part of the retention backup.'""",
    f"""CREATE TABLE import_batches (
  id INT UNSIGNED NOT NULL COMMENT 'Import batch id.',
  source VARCHAR(100) NOT NULL COMMENT 'System the data came from.',
  file_name VARCHAR(255) NOT NULL COMMENT 'Name of the imported file.',
  started_at DATETIME NOT NULL COMMENT 'Start of the import.',
  finished_at DATETIME NULL COMMENT 'End of the import.',
  status ENUM('bezig','klaar','mislukt') NOT NULL
    COMMENT 'bezig running, klaar done, mislukt failed.',
  PRIMARY KEY (id)
) {_TABLE_OPTIONS} COMMENT='Import bookkeeping (staging); NOT part of the retention backup.'""",
    f"""CREATE TABLE import_rows (
  id BIGINT UNSIGNED NOT NULL COMMENT 'Import row id.',
  batch_id INT UNSIGNED NOT NULL COMMENT 'Batch the row was read in.',
  line_no INT UNSIGNED NOT NULL COMMENT 'Line number in the imported file.',
  payload TEXT NOT NULL COMMENT 'Raw line as read.',
  status ENUM('ok','fout') NOT NULL COMMENT 'ok imported, fout rejected.',
  message VARCHAR(255) NULL COMMENT 'Why a row was rejected.',
  PRIMARY KEY (id),
  CONSTRAINT fk_import_rows_batch FOREIGN KEY (batch_id) REFERENCES import_batches (id)
    ON DELETE CASCADE
) {_TABLE_OPTIONS}
COMMENT='Raw rows of import files (staging); NOT part of the retention backup.'""",
    f"""CREATE TABLE export_jobs (
  id INT UNSIGNED NOT NULL COMMENT 'Export job id.',
  requested_by INT UNSIGNED NULL COMMENT 'Employee who requested the export.',
  kind VARCHAR(50) NOT NULL COMMENT 'Kind of export, e.g. declaratie, rapportage.',
  file_path VARCHAR(500) NOT NULL COMMENT 'Where the export file was written (export/ folder).',
  status ENUM('wachtend','klaar','mislukt') NOT NULL
    COMMENT 'wachtend queued, klaar done, mislukt failed.',
  created_at DATETIME NOT NULL COMMENT 'When the export was requested.',
  PRIMARY KEY (id),
  CONSTRAINT fk_export_jobs_requester FOREIGN KEY (requested_by) REFERENCES employees (id)
    ON DELETE SET NULL
) {_TABLE_OPTIONS} COMMENT='Export bookkeeping; NOT part of the retention backup.'""",
)

# Triggers, routines, view and event: single statements, no DELIMITER needed
# through the client API. Note for backups: the clients trigger writes into
# audit_log, an excluded table; restoring without it makes client UPDATEs fail.
PROGRAM_DDL: tuple[str, ...] = (
    """CREATE TRIGGER trg_clients_audit_update AFTER UPDATE ON clients FOR EACH ROW
  INSERT INTO audit_log (actor, table_name, row_id, action, details)
  VALUES (CURRENT_USER(), 'clients', NEW.id, 'update',
          CONCAT('{"changed_at": "', NOW(), '"}'))""",
    """CREATE TRIGGER trg_invoices_paid BEFORE UPDATE ON invoices FOR EACH ROW
  SET NEW.paid_at = IF(NEW.status = 'betaald' AND OLD.status <> 'betaald',
                       COALESCE(NEW.paid_at, NOW()), NEW.paid_at)""",
    """CREATE FUNCTION age_on(p_birth DATE, p_on DATE) RETURNS INT
  DETERMINISTIC NO SQL
  COMMENT 'Age in whole years of someone born on p_birth, on day p_on.'
  RETURN TIMESTAMPDIFF(YEAR, p_birth, p_on)""",
    """CREATE PROCEDURE open_invoice_total(IN p_client_id INT UNSIGNED, OUT p_total DECIMAL(14,2))
  READS SQL DATA
  COMMENT 'Sum of invoices of a client that are sent but not paid.'
  SELECT COALESCE(SUM(amount_excl_vat * (1 + vat_rate / 100)), 0) INTO p_total
  FROM invoices WHERE client_id = p_client_id AND status = 'verzonden'""",
    """CREATE VIEW v_open_invoices AS
  SELECT i.id AS invoice_id, i.invoice_number, c.id AS client_id, c.full_name,
         i.amount_excl_vat, i.issued_at
  FROM invoices i JOIN clients c ON c.id = i.client_id
  WHERE i.status = 'verzonden'""",
    """CREATE EVENT ev_purge_import_rows ON SCHEDULE EVERY 1 DAY DISABLE
  COMMENT 'Housekeeping: forget import rows after 90 days.'
  DO DELETE FROM import_rows WHERE batch_id IN
     (SELECT id FROM import_batches WHERE finished_at < NOW() - INTERVAL 90 DAY)""",
)

# --------------------------------------------------------------------------
# Plan: how many rows, pure
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Volumes:
    clients: int
    employees: int
    care_plans: int
    appointments: int
    invoices: int
    payroll_corrections: int
    signatures: int
    audit_log: int
    import_batches: int
    import_rows: int
    export_jobs: int

    @classmethod
    def for_clients(cls, clients: int) -> Volumes:
        employees = max(3, math.ceil(clients / 25))
        return cls(
            clients=clients,
            employees=employees,
            care_plans=2 * clients,
            appointments=10 * clients,
            invoices=3 * clients,
            payroll_corrections=2 * employees,
            signatures=clients,
            audit_log=4 * clients,
            import_batches=1 + clients // 200,
            import_rows=2 * clients,
            export_jobs=1 + clients // 100,
        )


# --------------------------------------------------------------------------
# Names and ids
# --------------------------------------------------------------------------

FIRST_NAMES = (
    "Jeroen", "Ängela", "Zoë", "Anaïs", "Chloë", "Daniëlle", "Joëlle", "Noël", "Maël", "Inês",
    "Björn", "Jürgen", "Ömer", "Çağla", "Łukasz", "Sélina", "Jan", "Kees", "Fenna", "Sanne",
    "Bram", "Femke", "Ruud", "Marloes", "Sietske", "Hiltje", "Wietske", "Mohammed", "Fatima",
    "Eline", "Geert", "Henk", "Ingrid", "Jasper", "Lotte", "Mireille", "Pieter", "Truus",
)
NAME_PREFIXES = ("", "", "", "van", "de", "van 't", "van der", "van den", "ter", "'t", "in 't")
LAST_NAMES = (
    "Hof", "Dijkstra-Öztürk", "Jansen", "Vries", "Bakker", "Visser", "Smit", "Meijer",
    "Mulder", "Boer", "Bos", "Vos", "Peters", "Hendriks", "Dekker", "Brouwer", "Wit",
    "Kuijpers", "Šimić", "Yılmaz", "Hoekstra", "Postma", "Zwart", "Groen", "Veld", "Çelik",  # noqa: RUF001
    "Bruijn", "Hoek", "Kok", "Leeuw", "Brink", "Laan",
)
CITIES = (
    "Leeuwarden", "Groningen", "Zwolle", "Assen", "'s-Hertogenbosch", "Den Haag", "Sneek",
    "Heerenveen", "Drachten", "Emmen", "Nijmegen", "Tilburg", "Ede", "Hoogeveen",
)
STREETS = (
    "Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsstraat", "Burgemeester de Jonghstraat",
    "Prinses Beatrixlaan", "Schoolstraat", "Julianastraat", "Wilhelminaweg", "'t Zand",
    "Oude Gracht", "Tuinstraat",
)
# The first two clients are fixed so tests and demos can look them up.
FIXED_CLIENTS = (("Jeroen", "van 't", "Hof"), ("Ängela", "", "Dijkstra-Öztürk"))
GOALS = (
    "Cliënt kan zelfstandig douchen met hulp bij aan- en uitkleden.",
    "Medicatie wordt dagelijks gecontroleerd; bij afwijkingen contact met huisarts.",
    "Dagstructuur behouden: twee keer per week dagbesteding.",
    "Valrisico verminderen door oefeningen en aanpassingen in huis.",
    "Wondzorg rechter onderbeen tot genezing, daarna evaluatie.",
)
VISIT_NOTES = (
    "Cliënt was opgewekt, ontbijt samen klaargezet.",
    "Steunkousen aangetrokken, huid ziet er goed uit.",
    "Mevr. klaagt over pijn in knie; doorgegeven aan de wijkverpleegkundige.",
    "Dhr. had slecht geslapen — volgende keer later langskomen?",
    "Geen bijzonderheden.",
)


def bsn_numbers(start: int) -> Iterator[str]:
    """Unique 9-digit numbers passing the BSN 11-test (elfproef), from `start` up.

    Each 8-digit prefix has at most one valid check digit, so numbers never repeat.
    """
    prefix = start
    while True:
        digits = [int(d) for d in f"{prefix:08d}"]
        weighted = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True))
        check = weighted % 11
        if check < 10:
            yield f"{prefix:08d}{check}"
        prefix += 1


def nfc(text: str) -> str:
    # One normalisation form for names that end up in file names and rows alike.
    return unicodedata.normalize("NFC", text)


def client_names(seed: int, count: int) -> list[tuple[str, str, str]]:
    rng = random.Random(f"{seed}:names")
    names = [tuple(map(nfc, n)) for n in FIXED_CLIENTS][:count]
    while len(names) < count:
        names.append((rng.choice(FIRST_NAMES), rng.choice(NAME_PREFIXES), rng.choice(LAST_NAMES)))
    return [(a, b, c) for a, b, c in names]


def full_name(first: str, prefix: str, last: str) -> str:
    return " ".join(part for part in (first, prefix, last) if part)


def sql_timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# --------------------------------------------------------------------------
# Rows: generators per table, pure
# --------------------------------------------------------------------------

Row = tuple[Any, ...]


def employee_rows(seed: int, v: Volumes) -> Iterator[Row]:
    rng = random.Random(f"{seed}:employees")
    roles = ("wijkverpleegkundige", "verzorgende", "verzorgende", "begeleider", "planner",
             "administratie", "teamleider")
    for i in range(1, v.employees + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        hired = date(2005, 1, 1) + timedelta(days=rng.randrange(6000))
        yield (i, f"P{100000 + i}", first, last, roles[i % len(roles)],
               f"medewerker{i}@zorg.example", hired.isoformat())


def client_rows(seed: int, v: Volumes, names: Sequence[tuple[str, str, str]]) -> Iterator[Row]:
    rng = random.Random(f"{seed}:clients")
    bsns = bsn_numbers(90_000_000 + seed % 1_000_000)  # synthetic range, never a real person
    for i, (first, prefix, last) in enumerate(names, start=1):
        born = date(1925, 1, 1) + timedelta(days=rng.randrange(30000))
        letters = chr(65 + rng.randrange(26)) + chr(65 + rng.randrange(26))
        postal = f"{rng.randint(1000, 9999)} {letters}"
        notes = None if rng.random() < 0.7 else rng.choice(VISIT_NOTES)
        yield (i, next(bsns), first, prefix, last, born.isoformat(), rng.choice("MVX"),
               rng.choice(STREETS), str(rng.randint(1, 250)) + rng.choice(("", "", "a", "-2")),
               postal, rng.choice(CITIES), f"06-{rng.randint(10000000, 99999999)}",
               1 + (i % v.employees), notes, sql_timestamp(EPOCH + timedelta(hours=i)))


def care_plan_rows(seed: int, v: Volumes) -> Iterator[Row]:
    rng = random.Random(f"{seed}:care_plans")
    for i in range(1, v.care_plans + 1):
        client = 1 + (i - 1) // 2
        start = date(2021, 1, 1) + timedelta(days=rng.randrange(1400))
        closed = i % 2 == 1
        yield (i, client, f"Zorgplan {start.year} ({'oud' if closed else 'actueel'})",
               rng.choice(GOALS), start.isoformat(),
               (start + timedelta(days=365)).isoformat() if closed else None,
               "afgesloten" if closed else "actief", 1 + rng.randrange(v.employees))


def appointment_rows(seed: int, v: Volumes) -> Iterator[Row]:
    rng = random.Random(f"{seed}:appointments")
    kinds = ("persoonlijke verzorging", "verpleging", "begeleiding", "huishoudelijke hulp",
             "intake")
    per_client = max(1, v.appointments // max(v.clients, 1))
    for i in range(1, v.appointments + 1):
        client = 1 + (i - 1) // per_client if v.clients else 1
        client = min(client, v.clients)
        starts = EPOCH + timedelta(minutes=15 * rng.randrange(140_000))
        status = rng.choice(("uitgevoerd", "uitgevoerd", "uitgevoerd", "gepland", "geannuleerd"))
        yield (i, client, 1 + rng.randrange(v.employees), 2 * client, sql_timestamp(starts),
               rng.choice((15, 30, 45, 60, 90)), rng.choice(kinds), status, "thuis",
               rng.choice(VISIT_NOTES) if status == "uitgevoerd" else None)


def invoice_rows(seed: int, v: Volumes) -> Iterator[Row]:
    rng = random.Random(f"{seed}:invoices")
    for i in range(1, v.invoices + 1):
        client = 1 + (i - 1) // 3
        start = date(2022, 1, 1) + timedelta(days=31 * rng.randrange(40))
        status = rng.choice(("betaald", "betaald", "verzonden", "concept", "gecrediteerd"))
        issued = sql_timestamp(datetime(start.year, start.month, 1) + timedelta(days=40))
        yield (i, client, f"F{start.year}-{i:07d}", start.isoformat(),
               (start + timedelta(days=27)).isoformat(),
               f"{rng.randint(50, 4000)}.{rng.randint(0, 99):02d}", "0.00", status,
               None if status == "concept" else issued,
               issued if status == "betaald" else None)


def payroll_rows(seed: int, v: Volumes) -> Iterator[Row]:
    rng = random.Random(f"{seed}:payroll")
    reasons = ("Vergeten te registreren uren", "Reiskosten nabetaling",
               "Onregelmatigheidstoeslag herberekend", "Correctie dubbele dienst")
    for i in range(1, v.payroll_corrections + 1):
        hours = rng.choice((-4, -2, 1, 2, 3.5, 8))
        yield (i, 1 + (i - 1) % v.employees, f"{rng.randint(2022, 2025)}-{rng.randint(1, 12):02d}",
               f"{hours:.2f}", f"{hours * 21.37:.2f}", rng.choice(reasons),
               None if i % 5 == 0 else 1 + rng.randrange(v.employees))


def signature_rows(seed: int, v: Volumes, names: Sequence[tuple[str, str, str]]) -> Iterator[Row]:
    rng = random.Random(f"{seed}:signatures")
    for i in range(1, v.signatures + 1):
        image = b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(512, 8192))
        yield (i, i, 2 * i, full_name(*names[i - 1]), image, hashlib.sha256(image).hexdigest(),
               sql_timestamp(EPOCH + timedelta(days=rng.randrange(1400))))


def audit_rows(seed: int, v: Volumes) -> Iterator[Row]:
    rng = random.Random(f"{seed}:audit")
    tables = ("clients", "care_plans", "appointments", "invoices", "documents")
    for i in range(1, v.audit_log + 1):
        table = rng.choice(tables)
        yield (i, sql_timestamp(EPOCH + timedelta(seconds=37 * i)),
               f"medewerker{1 + i % v.employees}",
               table, 1 + rng.randrange(max(v.clients, 1)),
               rng.choice(("view", "update", "insert")),
               '{"via": "web"}')


def import_batch_rows(v: Volumes) -> Iterator[Row]:
    for i in range(1, v.import_batches + 1):
        started = EPOCH + timedelta(days=7 * i)
        yield (i, "vorig ECD", f"cliënten {started.date()}.csv", sql_timestamp(started),
               sql_timestamp(started + timedelta(minutes=3)), "klaar")


def import_row_rows(v: Volumes) -> Iterator[Row]:
    for i in range(1, v.import_rows + 1):
        yield (i, 1 + (i - 1) % v.import_batches, i, f"{i};Jansen;Kerkstraat {i};ok", "ok", None)


def export_job_rows(v: Volumes) -> Iterator[Row]:
    for i in range(1, v.export_jobs + 1):
        yield (i, 1 + (i - 1) % v.employees, "declaratie", f"export/declaratie {i}.edi", "klaar",
               sql_timestamp(EPOCH + timedelta(days=i)))
