"""Tolerating the API answers that mean "already done", and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kubernetes.client.exceptions import ApiException


@contextmanager
def tolerate(*statuses: int) -> Iterator[None]:
    """Swallow an ApiException whose HTTP status is one of `statuses`
    (404 when deleting what is gone, 409 when creating what exists)."""
    try:
        yield
    except ApiException as error:
        if error.status not in statuses:
            raise


def describe(error: ApiException) -> str:
    """A log/condition-safe summary: status and reason only. The body of an API
    error can echo the request, which may hold Secret data."""
    return f"HTTP {error.status} {error.reason}"
