"""Completeness proven from the dump stream: what it creates equals what was planned.

The dump account's privileges are checked before the dump (`privileges`), but a
dump client can still leave out what it was asked for without an error (a
privilege check that cannot see everything, DDL while the dump runs, a client
version that skips an object type) and still end with `-- Dump completed`.
So each schema's plaintext is scanned as it streams (`dump_scan`) and, before
its object is completed in the store, compared with the plan made from the
inventory: every table, view, sequence, routine, trigger and event, by kind and
name. Excluded tables (and their triggers, which the dump client leaves out
with them) must be absent. Any difference fails the attempt, naming each object.

The row counts of the manifest are those of the stream: what the archive holds,
from the dump's own snapshot (`--single-transaction`, one per schema).
"""

from __future__ import annotations

from dataclasses import dataclass

from tenant_exit.mysql.inventory import Inventory
from tenant_exit.worker.dump_scan import DumpContents, DumpScanner
from tenant_exit.worker.pipeline import PipelineError
from tenant_exit.worker.plan import SchemaPlan

KINDS = ("table", "sequence", "view", "procedure", "function", "trigger", "event")


class DumpIncomplete(PipelineError):
    """The dump stream does not hold exactly the planned objects; the message names them."""


@dataclass(frozen=True)
class Difference:
    kind: str
    name: str
    missing: bool
    """True: planned but not in the stream; False: in the stream but not planned."""


ExpectedObjects = dict[str, frozenset[str]]
"""Names by kind (`KINDS`)."""


def expected_objects(plan: SchemaPlan, inventory: Inventory) -> ExpectedObjects:
    """What one schema's dump must create, from the inventory and the plan (pure)."""
    tables = {t.name for t in plan.included if t.type not in ("VIEW", "SEQUENCE")}
    objects = inventory.objects.get(plan.schema)
    excluded = {t.name for t, _ in plan.excluded}
    triggers = set(objects.triggers) if objects else set()
    if objects:
        # The dump client leaves out an ignored table's triggers with it.
        triggers -= {name for name, table in objects.trigger_tables.items() if table in excluded}
    return {
        "table": frozenset(tables),
        "sequence": frozenset(t.name for t in plan.included if t.type == "SEQUENCE"),
        "view": frozenset(t.name for t in plan.included if t.type == "VIEW"),
        "procedure": frozenset(objects.procedures if objects else ()),
        "function": frozenset(objects.functions if objects else ()),
        "trigger": frozenset(triggers),
        "event": frozenset(objects.events if objects else ()),
    }


def found_objects(contents: DumpContents) -> ExpectedObjects:
    return {"table": frozenset(contents.tables), "sequence": frozenset(contents.sequences),
            "view": frozenset(contents.views), "procedure": frozenset(contents.procedures),
            "function": frozenset(contents.functions), "trigger": frozenset(contents.triggers),
            "event": frozenset(contents.events)}


def differences(expected: ExpectedObjects, contents: DumpContents) -> list[Difference]:
    """Planned objects missing from the stream, then unplanned ones in it (pure)."""
    found = found_objects(contents)
    missing = [Difference(kind, name, True) for kind in KINDS
               for name in sorted(expected.get(kind, frozenset()) - found[kind])]
    extra = [Difference(kind, name, False) for kind in KINDS
             for name in sorted(found[kind] - expected.get(kind, frozenset()))]
    rows_without_table = [Difference("table", name, False)
                          for name in sorted(set(contents.rows) - found["table"])]
    return missing + extra + rows_without_table


def describe(schema: str, found: list[Difference], limit: int = 20) -> str:
    """One sentence naming the differences (at most `limit`, then how many more)."""
    def name(d: Difference) -> str:
        return f"{d.kind} `{schema}`.`{d.name}`"
    missing = [name(d) for d in found if d.missing]
    extra = [name(d) for d in found if not d.missing]
    parts = []
    if missing:
        parts.append(f"missing from the dump: {', '.join(missing[:limit])}"
                     + (f" and {len(missing) - limit} more" if len(missing) > limit else ""))
    if extra:
        parts.append(f"in the dump but not in the inventory: {', '.join(extra[:limit])}"
                     + (f" and {len(extra) - limit} more" if len(extra) > limit else ""))
    return (f"the dump of schema '{schema}' does not hold exactly what the inventory found "
            f"({'; '.join(parts)}). Nothing of this attempt is kept; a difference that "
            "persists means the dump account or client leaves objects out, or DDL runs "
            "during the dump (docs/security.md, 'Completeness').")


class DumpCompleteness:
    """The `PlainObserver` of one schema's dump: scans it, and refuses it at the end
    unless it creates exactly the planned objects."""

    def __init__(self, schema: str, expected: ExpectedObjects) -> None:
        self.schema = schema
        self.expected = expected
        self._scanner = DumpScanner()
        self.contents: DumpContents | None = None

    def write(self, chunk: bytes) -> None:
        self._scanner.feed(chunk)

    def close(self) -> None:
        self.contents = self._scanner.finish()
        found = differences(self.expected, self.contents)
        if found:
            raise DumpIncomplete(describe(self.schema, found))

    def abort(self) -> None:
        return None

    def rows(self, table: str) -> int:
        """Rows of `table` in the dump (0 for a table without INSERTs)."""
        assert self.contents is not None, "rows are known once the dump has ended"
        return self.contents.rows.get(table, 0)
