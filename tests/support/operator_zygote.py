"""Cheap operator restarts for the fault suite: fork a pre-imported interpreter.

Importing the operator (kopf, the kubernetes client, pydantic models) costs about
3 CPU-seconds, which is most of a restart; the fault suite restarts the operator
dozens of times. This process is started with the operator's environment,
imports the operator once and then, per request on stdin (one JSON line: the
log path), forks a child that opens its own session and runs `tenant-exit
operator` exactly as the CLI does. The environment must be the operator's at
import time: settings are read there (handlers.py's timer interval), and
OperatorProcess gives every start of one operator the same environment.

Each child is a new operator process with nothing of an earlier one but the
imported modules: no event loop, no API session, no kopf state (the handlers
are registered at import time in both cases). A SIGKILL of the child is the
crash under test.

Run as `python -m tests.support.operator_zygote`; it answers each request with
one JSON line {"pid": n}. It dies with its parent (PR_SET_PDEATHSIG), and so do
its children (they get SIGKILL when the zygote goes).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: signal.Signals) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _child(request: dict[str, object]) -> None:
    """In the forked child: become the operator process; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        _die_with_parent(signal.SIGKILL)
        log = os.open(str(request["log"]), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        quiet = os.open(os.devnull, os.O_RDONLY)
        os.dup2(quiet, 0)  # the zygote's request pipe is not the operator's
        os.close(quiet)
        from tenant_exit import cli

        code = cli.main(["operator"])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    _die_with_parent(signal.SIGTERM)
    # What `tenant-exit operator` imports, loaded once here (registers the handlers).
    import tenant_exit.cli
    import tenant_exit.extraction_handlers
    import tenant_exit.handlers
    import tenant_exit.operator_main  # noqa: F401

    # Children are reaped by the kernel, so a dead operator's PID is gone at once.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(json.dumps({"pid": pid}), flush=True)


if __name__ == "__main__":
    main()
