"""Pure pod-status bookkeeping of the process kubelet: container states, the
pod phase the restart policy implies, and conditions whose transition time
moves only when their status flips. The kubelet patches what these return.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def timestamp(when: dt.datetime | None) -> str | None:
    # metav1.Time is RFC 3339 with second precision.
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


@dataclass
class ContainerRun:
    """One container of a pod, across its restarts."""

    name: str
    image: str
    restart_count: int = 0
    state: str = "waiting"  # waiting | running | terminated
    reason: str = "ContainerCreating"
    message: str = ""
    pid: int | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    exit_code: int | None = None
    last_terminated: dict[str, Any] | None = None
    restart_at: float | None = None  # monotonic time of a scheduled restart
    _ended: dict[str, Any] | None = None  # the last run's terminated state, until a restart

    def wait(self, reason: str, message: str = "") -> None:
        self.state, self.reason, self.message = "waiting", reason, message

    @property
    def has_ended(self) -> bool:
        """A run of this container ended (a new start is a restart)."""
        return self._ended is not None

    def running(self, pid: int) -> None:
        if self._ended is not None:
            self.last_terminated, self._ended = self._ended, None
            self.restart_count += 1
        self.state, self.reason, self.message = "running", "", ""
        self.pid, self.started_at = pid, now()
        self.finished_at = self.exit_code = None
        self.restart_at = None

    def terminated(self, exit_code: int, message: str, reason: str | None = None) -> None:
        self.state = "terminated"
        self.exit_code = exit_code
        self.reason = reason or ("Completed" if exit_code == 0 else "Error")
        self.message = message
        self.finished_at = now()
        self.started_at = self.started_at or self.finished_at
        self._ended = self._terminated()

    @property
    def succeeded(self) -> bool:
        return self.state == "terminated" and self.exit_code == 0

    def _terminated(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "exitCode": self.exit_code,
            "reason": self.reason,
            "startedAt": timestamp(self.started_at),
            "finishedAt": timestamp(self.finished_at),
            "containerID": self.container_id,
        }
        if self.message:
            state["message"] = self.message
        return state

    @property
    def container_id(self) -> str | None:
        return f"process://{self.pid}" if self.pid else None

    def status(self) -> dict[str, Any]:
        if self.state == "running":
            state: dict[str, Any] = {"running": {"startedAt": timestamp(self.started_at)}}
        elif self.state == "terminated":
            state = {"terminated": self._terminated()}
        else:
            waiting: dict[str, Any] = {"reason": self.reason}
            if self.message:
                waiting["message"] = self.message
            state = {"waiting": waiting}
        status: dict[str, Any] = {
            "name": self.name,
            "image": self.image,
            "imageID": f"local://{self.image}",
            "ready": self.state == "running",
            "started": self.state == "running",
            "restartCount": self.restart_count,
            "state": state,
            "lastState": {"terminated": self.last_terminated} if self.last_terminated else {},
        }
        if self.container_id:
            status["containerID"] = self.container_id
        return status


def restarts(restart_policy: str, run: ContainerRun) -> bool:
    """Whether a terminated container is started again, per the pod's policy."""
    if restart_policy == "Always":
        return True
    return restart_policy == "OnFailure" and not run.succeeded


def phase(restart_policy: str, initialized: bool, runs: list[ContainerRun]) -> str:
    """The pod phase once init containers are done: terminal when every
    container has terminated and none will restart."""
    if not initialized:
        return "Pending"
    if all(r.state == "terminated" and r.restart_at is None for r in runs):
        if all(r.succeeded for r in runs):
            return "Succeeded"
        if not any(restarts(restart_policy, r) for r in runs):
            return "Failed"
    if any(r.state in ("running", "terminated") for r in runs):
        return "Running"
    return "Pending"


@dataclass
class Conditions:
    """Pod conditions keyed by type; lastTransitionTime moves only on a flip."""

    _seen: dict[str, dict[str, Any]] = field(default_factory=dict)

    def set(self, type_: str, status: bool, reason: str | None = None) -> None:
        value = "True" if status else "False"
        previous = self._seen.get(type_)
        when = (
            previous["lastTransitionTime"]
            if previous and previous["status"] == value
            else timestamp(now())
        )
        condition: dict[str, Any] = {
            "type": type_, "status": value, "lastTransitionTime": when, "lastProbeTime": None,
        }
        if reason and not status:
            condition["reason"] = reason
        self._seen[type_] = condition

    def as_list(self) -> list[dict[str, Any]]:
        return list(self._seen.values())
