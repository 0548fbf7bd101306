"""The Markdown data dictionary is built purely from the model."""

from __future__ import annotations

from datetime import UTC, datetime

from tenant_exit.mysql.dictionary import (
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
