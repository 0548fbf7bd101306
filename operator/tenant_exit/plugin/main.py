"""`kubectl tenantexit status|confirm-receipt|withdraw-receipt|links|certificate|explain-phase`.

Kubernetes access comes from the kubeconfig kubectl uses ($KUBECONFIG or
~/.kube/config). Output follows kubectl: `-o json|yaml` for machines, colour
only on a terminal (and never with NO_COLOR). Exit status: 0 done, 1 refused
or not verified, 2 not found or unusable input.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import yaml
from kubernetes import client, config

from tenant_exit.api import names
from tenant_exit.plugin.effective import effective_spec
from tenant_exit.plugin.story import PHASES, next_step

OK, REFUSED, UNUSABLE = 0, 1, 2


class Failure(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _colour(text: str, code: str, out: TextIO) -> str:
    if out.isatty() and not os.environ.get("NO_COLOR"):
        return f"\033[{code}m{text}\033[0m"
    return text


def _apis() -> tuple[client.CustomObjectsApi, client.CoreV1Api]:
    config.load_kube_config()
    return client.CustomObjectsApi(), client.CoreV1Api()


def _get(custom: client.CustomObjectsApi, name: str) -> dict[str, Any]:
    try:
        return dict(custom.get_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL,
                                                     name))
    except client.ApiException as error:
        if error.status == 404:
            raise Failure(f'tenantexits.{names.GROUP} "{name}" not found', UNUSABLE) from None
        raise


def _emit(data: Any, output: str | None, out: TextIO) -> bool:
    if output == "json":
        out.write(json.dumps(data, indent=2, default=str) + "\n")
    elif output == "yaml":
        out.write(yaml.safe_dump(data, sort_keys=False))
    else:
        return False
    return True


EVENTS_NAMESPACE = "default"  # Events about a cluster-scoped object live there


def _events(core: client.CoreV1Api, exit: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The exit's Events, or None for a user who may not list them: the rest of the
    story (phase, conditions, next step) is still theirs to read."""
    try:
        items = core.list_namespaced_event(
            EVENTS_NAMESPACE,
            field_selector=f"involvedObject.name={exit['metadata']['name']}").items
    except client.ApiException as error:
        if error.status == 403:
            return None
        raise
    events = [{"time": str(e.last_timestamp or e.event_time or ""), "type": e.type,
               "reason": e.reason, "message": e.message}
              for e in items if e.involved_object.uid == exit["metadata"].get("uid")]
    return sorted(events, key=lambda e: e["time"])


def status(args: argparse.Namespace, out: TextIO) -> int:
    custom, core = _apis()
    exit = _get(custom, args.name)
    spec, st = effective_spec(exit), exit.get("status") or {}
    backup = st.get("backup") or {}
    what, who = next_step(exit)
    request = spec.get("request") or {}
    story = {
        "name": args.name, "phase": st.get("phase"), "request": request or None,
        "conditions": [{k: c.get(k) for k in ("type", "status", "reason", "message")}
                       for c in st.get("conditions", [])],
        "events": _events(core, exit),
        "backup": {k: backup.get(k) for k in ("manifest", "manifestSha256", "database",
                                              "documents", "size", "signingKey")},
        "excluded": {"tables": (spec.get("database") or {}).get("excludeTables", []),
                     "paths": {d["claimName"]: d.get("exclude", [])
                               for d in spec.get("documents", [])}},
        "deletion": st.get("deletion") or {},
        "className": (st.get("policy") or {}).get("className") or spec.get("className"),
        "nextStep": what, "whoMustAct": who,
    }
    if _emit(story, args.output, out):
        return OK
    out.write(f"Name:    {args.name}\nPhase:   {_colour(str(story['phase']), '1', out)}\n")
    if story["className"]:
        out.write(f"Class:   {story['className']}\n")
    if request:
        out.write(f"Request: {request.get('ticket')} by {request.get('requestedBy')} at "
                  f"{request.get('requestedAt')}\n")
    out.write("Conditions:\n")
    for c in story["conditions"]:
        mark = _colour(c["status"], "32" if c["status"] == "True" else "33", out)
        out.write(f"  {c['type']:<22} {mark:<5} {c['reason']}: {c['message']}\n")
    if story["events"] is None:
        out.write(f"Events:  not shown: you may not list Events in namespace "
                  f"{EVENTS_NAMESPACE}\n")
    else:
        out.write("Events:\n")
        for e in story["events"]:
            kind = e["type"] if e["type"] == "Normal" else _colour(e["type"], "31", out)
            out.write(f"  {e['time']}  {kind:<7} {e['reason']}: {e['message']}\n")
    db, docs = backup.get("database") or {}, backup.get("documents") or {}
    out.write(f"Backup:  {db.get('tables', 0)} tables, {db.get('rows', 0)} rows, "
              f"{docs.get('files', 0)} documents, stored {backup.get('size') or '-'}\n")
    out.write(f"  manifest {backup.get('manifest') or '-'}\n"
              f"  sha256   {backup.get('manifestSha256') or '-'}\n")
    out.write("Excluded:\n  tables " + (", ".join(story["excluded"]["tables"]) or "none")
              + "\n")
    for claim, paths in story["excluded"]["paths"].items():
        out.write(f"  {claim}: " + (", ".join(paths) or "none") + "\n")
    if story["deletion"].get("notBefore"):
        out.write(f"Deletion not before: {story['deletion']['notBefore']}\n")
    out.write(f"Next:    {what}\nActs:    {who}\n")
    return OK


def confirm_receipt(args: argparse.Namespace, out: TextIO) -> int:
    custom, _ = _apis()
    exit = _get(custom, args.name)
    expected = ((exit.get("status") or {}).get("backup") or {}).get("manifestSha256")
    if not expected:
        raise Failure(f"TenantExit {args.name} has no verified backup yet "
                      f"(phase {(exit.get('status') or {}).get('phase')}); nothing to confirm",
                      REFUSED)
    if args.manifest_sha256.lower() != expected:
        raise Failure(f"refused: {args.manifest_sha256} is not the SHA-256 of the verified "
                      f"manifest ({expected}); ask the customer to verify their download again",
                      REFUSED)
    custom.patch_cluster_custom_object(
        names.GROUP, names.VERSION, names.PLURAL, args.name,
        {"spec": {"receipt": {"confirmedBy": args.by, "manifestSha256": expected}}})
    deadline = time.monotonic() + args.wait
    not_before = None
    while time.monotonic() < deadline:
        st = _get(custom, args.name).get("status") or {}
        not_before = (st.get("deletion") or {}).get("notBefore")
        if not_before:
            break
        time.sleep(1)
    result = {"name": args.name, "confirmedBy": args.by, "manifestSha256": expected,
              "notBefore": not_before}
    if _emit(result, args.output, out):
        return OK
    out.write(f"receipt confirmed for {args.name} by {args.by}\n")
    out.write(f"deletion not before {not_before}\n" if not_before else
              "the operator has not accepted the receipt yet (see kubectl tenantexit status)\n")
    return OK


def withdraw_receipt(args: argparse.Namespace, out: TextIO) -> int:
    custom, _ = _apis()
    exit = _get(custom, args.name)
    if "receipt" not in exit.get("spec", {}):
        out.write(f"TenantExit {args.name} has no receipt to withdraw\n")
        return OK
    custom.api_client.call_api(
        f"/apis/{names.GROUP}/{names.VERSION}/{names.PLURAL}/{args.name}", "PATCH",
        header_params={"Content-Type": "application/json-patch+json"},
        body=[{"op": "remove", "path": "/spec/receipt"}], auth_settings=["BearerToken"],
        response_type="object")
    out.write(f"receipt of {args.name} withdrawn: the deletion will not start\n")
    return OK


def links(args: argparse.Namespace, out: TextIO) -> int:
    custom, core = _apis()
    exit = _get(custom, args.name)
    where = ((exit.get("status") or {}).get("backup") or {}).get("downloadSecret")
    if not where:
        raise Failure(f"TenantExit {args.name} has no download links yet", UNUSABLE)
    namespace, secret_name = where.split("/", 1)
    secret = core.read_namespaced_secret(secret_name, namespace)
    data = json.loads(base64.b64decode(secret.data["links.json"]))
    if _emit(data, args.output, out):
        return OK
    out.write(f"links expire at {data['expiresAt']}\n")
    for link in data["objects"]:
        out.write(f"{link['file']}\t{link['url']}\n")
    return OK


def certificate(args: argparse.Namespace, out: TextIO) -> int:
    from tenant_exit.plugin.certificate import fetch_and_verify

    custom, core = _apis()
    exit = _get(custom, args.name)
    report = fetch_and_verify(exit, core, args.endpoint_url)
    if not _emit(report, args.output, out):
        out.write(report["summary"] + "\n")
        out.write(("signature: OK (key " + str(report["keyId"]) + ")\n") if report["verified"]
                  else _colour(f"signature: FAILED: {report['problem']}", "31", out) + "\n")
    return OK if report["verified"] else REFUSED


def explain_phase(args: argparse.Namespace, out: TextIO) -> int:
    phases = [args.phase] if args.phase else list(PHASES)
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        raise Failure(f"unknown phase {unknown[0]}; phases: {', '.join(PHASES)}", UNUSABLE)
    data = [{"phase": p, "meaning": PHASES[p][0], "whoMustAct": PHASES[p][1]} for p in phases]
    if not _emit(data, args.output, out):
        for item in data:
            out.write(f"{item['phase']}\n  {item['meaning']}\n  acts: {item['whoMustAct']}\n")
    return OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubectl tenantexit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, run: Any, help: str, named: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        if named:
            p.add_argument("name", help="the TenantExit")
        p.add_argument("-o", "--output", choices=["json", "yaml"], default=None)
        p.set_defaults(run=run)
        return p

    command("status", status, "phase, conditions, events, backup, exclusions, next step")
    confirm = command("confirm-receipt", confirm_receipt,
                      "record the customer's receipt (refused unless the digest matches)")
    confirm.add_argument("--manifest-sha256", required=True)
    confirm.add_argument("--by", required=True, help="who confirmed (name or e-mail)")
    confirm.add_argument("--wait", type=float, default=30.0,
                         help="seconds to wait for the operator's notBefore")
    command("withdraw-receipt", withdraw_receipt, "withdraw a receipt before the deletion starts")
    command("links", links, "the download links from the Secret, with their expiry")
    cert = command("certificate", certificate,
                   "fetch the certificate of destruction and verify its signature")
    cert.add_argument("--endpoint-url", default=None,
                      help="S3 endpoint (default: the exit's spec.destination.s3.endpoint)")
    explain = command("explain-phase", explain_phase, "what each phase means", named=False)
    explain.add_argument("phase", nargs="?")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args, out))
    except Failure as failure:
        sys.stderr.write(f"error: {failure}\n")
        return failure.code
    except client.ApiException as error:
        sys.stderr.write(f"error: Kubernetes API answered HTTP {error.status} {error.reason}\n")
        return UNUSABLE
    except config.ConfigException as error:
        sys.stderr.write(f"error: no usable kubeconfig: {error}\n")
        return UNUSABLE


if __name__ == "__main__":
    raise SystemExit(main())
