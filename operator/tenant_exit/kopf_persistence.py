"""kopf's persistence (finalizer, progress and diff-base storage) per served resource.

kopf keeps one `settings.persistence` for the whole operator. Each resource the
operator serves declares its own in `Served`; the storages below hand every
body to the storage of its resource, so a second resource gets its own
annotation prefix instead of sharing the TenantExit's. kopf 1.x reads a single
finalizer name, so `persistence` refuses resources that declare different ones
at startup rather than putting one resource's finalizer on the other.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import kopf


@dataclass(frozen=True)
class Served:
    """A resource the operator serves, and how kopf keeps its state on it."""

    group: str
    version: str
    plural: str
    kind: str
    finalizer: str
    """kopf's finalizer on the object: holds its deletion until the delete handler ran."""
    storage_prefix: str
    """Prefix of kopf's progress and diff-base annotations (the status schema prunes
    unknown fields, so kopf's state lives in annotations)."""

    @property
    def resource(self) -> tuple[str, str, str]:
        return (self.group, self.version, self.plural)


_Storage = TypeVar("_Storage")


def _key(body: Mapping[str, Any]) -> tuple[str, str]:
    return (str(body.get("apiVersion", "")).partition("/")[0], str(body.get("kind", "")))


class ProgressByResource(kopf.ProgressStorage):
    """Progress of each resource's handlers in that resource's own storage."""

    def __init__(self, storages: Mapping[tuple[str, str], kopf.ProgressStorage]) -> None:
        self._storages = dict(storages)

    def _of(self, body: kopf.Body) -> kopf.ProgressStorage:
        return _pick(self._storages, body)

    def fetch(self, *, key: kopf.HandlerId, body: kopf.Body) -> kopf.ProgressRecord | None:
        return self._of(body).fetch(key=key, body=body)

    def store(self, *, key: kopf.HandlerId, record: kopf.ProgressRecord, body: kopf.Body,
              patch: kopf.Patch) -> None:
        self._of(body).store(key=key, record=record, body=body, patch=patch)

    def purge(self, *, key: kopf.HandlerId, body: kopf.Body, patch: kopf.Patch) -> None:
        self._of(body).purge(key=key, body=body, patch=patch)

    def touch(self, *, body: kopf.Body, patch: kopf.Patch, value: str | None) -> None:
        self._of(body).touch(body=body, patch=patch, value=value)

    def clear(self, *, essence: kopf.BodyEssence) -> kopf.BodyEssence:
        # An essence carries no kind; each storage removes only its own keys.
        for storage in self._storages.values():
            essence = storage.clear(essence=essence)
        return essence

    def flush(self) -> None:
        for storage in self._storages.values():
            storage.flush()


class DiffBaseByResource(kopf.DiffBaseStorage):
    """The last handled spec of each resource in that resource's own storage."""

    def __init__(self, storages: Mapping[tuple[str, str], kopf.DiffBaseStorage]) -> None:
        super().__init__()
        self._storages = dict(storages)

    def _of(self, body: kopf.Body) -> kopf.DiffBaseStorage:
        return _pick(self._storages, body)

    def build(self, *, body: kopf.Body,
              extra_fields: Iterable[kopf.FieldSpec] | None = None) -> kopf.BodyEssence:
        return self._of(body).build(body=body, extra_fields=extra_fields)

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return self._of(body).fetch(body=body)

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        self._of(body).store(body=body, patch=patch, essence=essence)


def _pick(storages: Mapping[tuple[str, str], _Storage], body: kopf.Body) -> _Storage:
    try:
        return storages[_key(body)]
    except KeyError:
        raise LookupError(f"no kopf storage for {_key(body)}: declare it in Served") from None


def persistence(settings: kopf.OperatorSettings, served: Collection[Served]) -> None:
    """Set kopf's persistence from the resources' own declarations."""
    finalizers = {s.finalizer for s in served}
    if len(finalizers) != 1:
        raise ValueError(f"kopf 1.x keeps one finalizer per operator, not {sorted(finalizers)}: "
                         "serve a resource with its own finalizer from its own kopf operator")
    settings.persistence.finalizer = finalizers.pop()
    settings.persistence.progress_storage = ProgressByResource({
        (s.group, s.kind): kopf.AnnotationsProgressStorage(prefix=s.storage_prefix)
        for s in served
    })
    settings.persistence.diffbase_storage = DiffBaseByResource({
        (s.group, s.kind): kopf.AnnotationsDiffBaseStorage(prefix=s.storage_prefix)
        for s in served
    })
