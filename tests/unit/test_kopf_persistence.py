"""kopf's state is kept per served resource: each resource's annotations carry its
own prefix, and a body of a resource nobody declared fails loudly."""

from __future__ import annotations

import kopf
import pytest

from tenant_exit import handlers
from tenant_exit.kopf_persistence import Served, persistence

EXTRACTIONS = Served("tenantexit.io", "v1alpha1", "tenantextractions", "TenantExtraction",
                     finalizer="tenantexit.io/exit", storage_prefix="extraction.tenantexit.io")


def _body(kind: str, group: str = "tenantexit.io") -> kopf.Body:
    return kopf.Body({"apiVersion": f"{group}/v1alpha1", "kind": kind,
                      "metadata": {"name": "x", "annotations": {}}})


def _configured(*served: Served) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    persistence(settings, served)
    return settings


def test_the_decorators_serve_what_served_declares() -> None:
    assert handlers.RESOURCE == handlers.TENANT_EXITS.resource
    settings = _configured(*handlers.SERVED)
    assert settings.persistence.finalizer == "tenantexit.io/exit"


@pytest.mark.parametrize(("kind", "prefix"), [("TenantExit", "tenantexit.io"),
                                              ("TenantExtraction", "extraction.tenantexit.io")])
def test_progress_goes_to_the_resources_own_annotations(kind: str, prefix: str) -> None:
    settings = _configured(handlers.TENANT_EXITS, EXTRACTIONS)
    patch = kopf.Patch()
    settings.persistence.progress_storage.store(
        key=kopf.HandlerId("handle_change"), record={"retries": 1}, body=_body(kind),
        patch=patch)
    keys = set(patch["metadata"]["annotations"])
    assert f"{prefix}/handle_change" in keys
    assert all(key.startswith(f"{prefix}/") for key in keys), keys
    diff = kopf.Patch()
    settings.persistence.diffbase_storage.store(body=_body(kind), patch=diff,
                                                essence=kopf.BodyEssence(spec={"a": 1}))
    keys = set(diff["metadata"]["annotations"])
    assert f"{prefix}/last-handled-configuration" in keys
    assert all(key.startswith(f"{prefix}/") for key in keys), keys


def test_a_body_of_an_undeclared_resource_fails_loudly() -> None:
    settings = _configured(handlers.TENANT_EXITS)
    with pytest.raises(LookupError, match="TenantExtraction"):
        settings.persistence.progress_storage.fetch(key=kopf.HandlerId("h"),
                                                    body=_body("TenantExtraction"))


def test_two_finalizers_are_refused_rather_than_shared() -> None:
    other = Served("tenantexit.io", "v1alpha1", "datamodels", "DataModel",
                   finalizer="tenantexit.io/model", storage_prefix="model.tenantexit.io")
    with pytest.raises(ValueError, match="one finalizer per operator"):
        _configured(handlers.TENANT_EXITS, other)
