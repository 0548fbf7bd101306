"""The Markdown data dictionary is built purely from the model."""

from __future__ import annotations

from datetime import UTC, datetime

from tenant_exit.mysql.dictionary import (
    Check,
    Column,
    DataDictionary,
    ForeignKey,
    Routine,
    Schema,
    Table,
    Trigger,
    render_markdown,
)


def test_markdown_lists_tables_columns_keys_and_code() -> None:
    dictionary = DataDictionary(
        generated_at=datetime(2025, 1, 1, tzinfo=UTC), server_version="10.11.6-MariaDB",
        schemas=[Schema(name="ons", character_set="utf8mb4", collation="utf8mb4_unicode_ci",
                        tables=[
                            Table(name="clients", type="BASE TABLE", engine="InnoDB",
                                  comment="Cliënten | in zorg", rows=40,
                                  columns=[Column(name="id", type="int(10) unsigned",
                                                  nullable=False, key="PRI",
                                                  comment="Intern id\nmet newline")],
                                  primary_key=["id"],
                                  foreign_keys=[ForeignKey(
                                      name="fk_emp", columns=["employee_id"],
                                      referenced_schema="ons", referenced_table="employees",
                                      referenced_columns=["id"], on_delete="RESTRICT")]),
                            Table(name="audit_log", type="BASE TABLE", excluded_by="*.audit_*"),
                        ],
                        routines=[Routine(name="age_on", type="FUNCTION", returns="int")],
                        triggers=[Trigger(name="trg", table="clients", timing="AFTER",
                                          event="UPDATE")])])
    md = render_markdown(dictionary)
    assert "## Schema `ons`" in md
    assert "### Table `clients`" in md
    assert "Cliënten \\| in zorg" in md  # pipes escaped inside the table layout
    assert "| id | int(10) unsigned | no |  | PRI |  | Intern id met newline |" in md
    assert "40 rows in the dump" in md and "primary key (id)" in md
    assert "foreign key `fk_emp` (employee_id) -> `employees` (id), on delete RESTRICT" in md
    assert "**not in the dump** (excluded by `*.audit_*`)" in md
    assert "- function `age_on` returns int" in md
    assert "- `trg`: after update on `clients`" in md
    assert b'"excludedBy": "*.audit_*"' in dictionary.to_json_bytes()


def test_generated_and_invisible_columns_and_checks_are_described() -> None:
    table = Table(name="clients", type="BASE TABLE", columns=[
        Column(name="full_name", type="varchar(101)", nullable=True, extra="STORED GENERATED",
               generation_expression="concat(`first`,' ',`last`)"),
        Column(name="note", type="varchar(100)", nullable=True, extra="INVISIBLE",
               invisible=True)],
        checks=[Check(name="chk_score", clause="(`score` between 0 and 100)")])
    md = render_markdown(DataDictionary(
        generated_at=datetime(2025, 1, 1, tzinfo=UTC), server_version="9.7.4",
        schemas=[Schema(name="care", tables=[table])]))
    assert "| STORED GENERATED AS (concat(`first`,' ',`last`)) |" in md
    assert "| note | varchar(100) | yes |  |  | INVISIBLE |" in md
    assert "- check `chk_score`: (`score` between 0 and 100)" in md
    data = table.model_dump(by_alias=True)
    assert data["columns"][1]["invisible"] is True
    assert data["columns"][0]["generationExpression"].startswith("concat(")
