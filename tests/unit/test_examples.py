"""The shipped example is what users copy: it must be a valid TenantExit and keep
the exclusions the README promises (logging and import/export are left out)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tenant_exit.api.resource import TenantExit
from tenant_exit.api.spec import Database, DocumentVolume

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tenantexit.yaml"


def example() -> TenantExit:
    body = yaml.safe_load(EXAMPLE.read_text())
    return TenantExit.from_body(body)


def test_the_example_is_a_valid_tenant_exit() -> None:
    exit = example()
    assert exit.spec.destination is not None
    assert exit.spec.destination.encryption.age_recipients


def test_the_example_leaves_out_every_table_the_default_leaves_out() -> None:
    """excludeTables replaces the default list: an override without `*.*_log` dumps
    the log tables the README says are left out."""
    default = Database.model_fields["exclude_tables"].default
    assert "*.*_log" in default
    assert set(default) <= set(example().spec.database.exclude_tables)


def test_the_example_leaves_out_every_path_the_default_leaves_out() -> None:
    default = DocumentVolume.model_fields["exclude"].default
    for volume in example().spec.documents:
        assert set(default) <= set(volume.exclude), volume.claim_name
