"""Which tables go into each schema's dump, decided purely from the inventory."""

from __future__ import annotations

from dataclasses import dataclass, field

from tenant_exit.mysql.inventory import Inventory, TableInfo
from tenant_exit.worker.exclusions import excluding_pattern


@dataclass
class SchemaPlan:
    schema: str
    included: list[TableInfo] = field(default_factory=list)
    excluded: list[tuple[TableInfo, str]] = field(default_factory=list)
    """Tables (and views) left out, with the pattern that matched."""

    @property
    def data_tables(self) -> list[TableInfo]:
        """Included tables that hold rows (not views or sequences): what gets counted."""
        return [t for t in self.included if t.holds_data]

    @property
    def ignore_tables(self) -> list[str]:
        return [t.name for t, _ in self.excluded]


def plan_database(inventory: Inventory, exclude_patterns: list[str]) -> list[SchemaPlan]:
    plans = []
    for schema in inventory.schemas:
        plan = SchemaPlan(schema)
        for table in inventory.tables_of(schema):
            pattern = excluding_pattern(schema, table.name, exclude_patterns)
            if pattern is None:
                plan.included.append(table)
            else:
                plan.excluded.append((table, pattern))
        plans.append(plan)
    return plans
