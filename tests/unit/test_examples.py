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
    """excludeTables replaces the default list: an override without `*.audit_*` dumps
    the audit tables the README says are left out. No suffix glob such as `*.*_log`
    (issue 10: it matches clinical tables like `care_log`)."""
    default = Database.model_fields["exclude_tables"].default
    assert "*.audit_*" in default and "*.*_log" not in default
    assert set(default) <= set(example().spec.database.exclude_tables)


def test_the_example_leaves_out_every_path_the_default_leaves_out() -> None:
    default = DocumentVolume.model_fields["exclude"].default
    for volume in example().spec.documents:
        assert set(default) <= set(volume.exclude), volume.claim_name


CLASS_EXAMPLE = EXAMPLE.parent / "tenantexitclass.yaml"
CLASS_EXIT_EXAMPLE = EXAMPLE.parent / "tenantexit-class.yaml"


def test_the_one_screen_exit_gets_every_platform_term_from_the_class_example() -> None:
    from tenant_exit.api.exit_class import TenantExitClass
    from tenant_exit.api.policy import policy_from_class, violations

    exit_class = TenantExitClass.from_body(yaml.safe_load(CLASS_EXAMPLE.read_text()))
    exit = TenantExit.from_body(yaml.safe_load(CLASS_EXIT_EXAMPLE.read_text()))
    assert exit.spec.class_name == exit_class.metadata.name
    assert exit.spec.destination is not None and exit.spec.destination.s3 is None
    policy = policy_from_class(exit_class)
    spec = exit.under(policy).spec
    assert spec.destination is not None and spec.destination.store.bucket == "tenant-exits"
    assert spec.deletion.grace_period == "168h" and spec.customer.language.value == "nl"
    assert spec.read_only is not None and spec.read_only.database.value == "RevokeWrites"
    assert violations(spec, policy) == []
    assert len(CLASS_EXIT_EXAMPLE.read_text().splitlines()) <= 30, "one screen"
