"""What the operator does with the Kubernetes API, derived from its source.

Two sources of API calls:
1. The operator's own calls through the `kubernetes` client. Every generated
   client method (`core.patch_namespaced_secret`, ...) is backed by a
   `<method>_with_http_info` that names its HTTP method and URL path; those give
   the RBAC (apiGroup, resource, verb) exactly. The source is scanned (AST) for
   attributes named like a client method, so a new call shows up without anyone
   updating a list. CustomObjectsApi paths carry `{group}`/`{plural}`; they are
   resolved from the call's arguments (literals or `tenant_exit.api.names`).
2. kopf's own calls for what the handlers register: it lists, watches and
   merge-patches the handled resource (finalizer, progress annotations) and its
   status subresource, posts core Events, keeps its peering object, and — unless
   a startup handler sets `settings.scanning.disabled` — lists and watches CRDs.
   These are kopf's behaviour (kopf/_cogs/clients, kopf/_core/reactor), taken
   from the decorators and settings in handlers.py.

Used by tests/unit/test_chart_rbac.py (ClusterRole == what the code uses) and the
integration test that checks the chart's ServiceAccount can do exactly that.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kubernetes import client

from tenant_exit.api import names

SOURCE = Path(__file__).resolve().parents[2] / "operator" / "tenant_exit"
# The worker runs inside the backup Job with no Kubernetes API access at all;
# the kubectl plugin and `tenant-exit public-key` run as the person using them.
_NOT_THE_OPERATOR = {"worker", "plugin", "signing_cli.py"}
OPERATOR_SOURCES = [p for p in SOURCE.rglob("*.py")
                    if not _NOT_THE_OPERATOR & set(p.relative_to(SOURCE).parts)]
WORKER_SOURCES = sorted((SOURCE / "worker").rglob("*.py"))

_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


@dataclass(frozen=True, order=True)
class Permission:
    group: str
    resource: str  # plural, `plural/subresource` for a subresource
    verb: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}.{self.group or 'core'}"


@dataclass(frozen=True)
class Endpoint:
    api_class: str
    http_method: str
    path: str
    params: tuple[str, ...]


@cache
def client_methods() -> dict[str, tuple[Endpoint, ...]]:
    """Every public method of every generated `*Api` class, with its HTTP call."""
    index: defaultdict[str, list[Endpoint]] = defaultdict(list)
    for class_name, cls in vars(client).items():
        if not (class_name.endswith("Api") and inspect.isclass(cls)):
            continue
        for name, method in vars(cls).items():
            info = getattr(cls, f"{name}_with_http_info", None)
            if name.startswith("_") or name.endswith("_with_http_info") or info is None:
                continue
            call = re.search(r"call_api\(\s*'([^']+)',\s*'([A-Z]+)'", inspect.getsource(info))
            if call is None:
                continue
            params = tuple(inspect.signature(method).parameters)[1:]
            index[name].append(Endpoint(class_name, call.group(2), call.group(1), params))
    return {name: tuple(endpoints) for name, endpoints in index.items()}


def permission_of(endpoint: Endpoint, args: dict[str, str | None], watch: bool) -> Permission:
    parts = endpoint.path.strip("/").split("/")
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[1] == "{namespace}":
        rest = rest[2:]
    resource = rest[0]
    item = len(rest) >= 2
    if group == "{group}" or resource == "{plural}":
        group = args.get("group") or ""
        resource = args.get("plural") or ""
        if not group or not resource:
            raise LookupError(f"cannot resolve group/plural of {endpoint.path} from {args}")
    if len(rest) >= 3:
        resource = f"{resource}/{rest[2]}"
    if endpoint.http_method == "GET":
        verb = "watch" if watch else ("get" if item else "list")
    elif endpoint.http_method == "DELETE":
        verb = "delete" if item else "deletecollection"
    else:
        verb = _VERBS[endpoint.http_method]
    return Permission(group, resource, verb)


def _value(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """A string argument: a literal, `names.X`, or `X` imported from tenant_exit.api.names."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        if node.value.id == "names":
            return str(getattr(names, node.attr))
    if isinstance(node, ast.Name) and node.id in aliases:
        return str(getattr(names, aliases[node.id]))
    return None


def _call_args(call: ast.Call, endpoint: Endpoint, aliases: dict[str, str]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for param, node in zip(endpoint.params, call.args, strict=False):
        if isinstance(node, ast.Starred):
            break
        args[param] = _value(node, aliases)
    for keyword in call.keywords:
        if keyword.arg is not None:
            args[keyword.arg] = _value(keyword.value, aliases)
    return args


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _receiver_classes(tree: ast.AST) -> dict[str, set[str]]:
    """Variable name -> API classes it is annotated or constructed as in this file
    (`core: client.CoreV1Api`, `batch = client.BatchV1Api(api)`)."""
    found: defaultdict[str, set[str]] = defaultdict(set)
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            found[node.arg].add(ast.unparse(node.annotation).rsplit(".", 1)[-1])
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id].add(ast.unparse(node.annotation).rsplit(".", 1)[-1])
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id].add(ast.unparse(node.value.func).rsplit(".", 1)[-1])
    return found


def client_calls(paths: list[Path]) -> dict[Permission, list[str]]:
    """Permission -> where in the source it is used (`file:line method`)."""
    methods = client_methods()
    used: defaultdict[Permission, list[str]] = defaultdict(list)
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        aliases = {
            alias.asname or alias.name: alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "tenant_exit.api.names"
            for alias in node.names
        }
        parents = _parents(tree)
        receivers = _receiver_classes(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr in methods):
                continue
            parent = parents.get(node)
            called = isinstance(parent, ast.Call) and parent.func is node
            streamed = (
                isinstance(parent, ast.Call)
                and isinstance(parent.func, ast.Attribute)
                and parent.func.attr == "stream"
                and parent.args[:1] == [node]
            )
            where = f"{path.relative_to(SOURCE.parent)}:{node.lineno} {node.attr}"
            endpoints = methods[node.attr]
            # A name shared by several API classes (create_namespaced_event in core and
            # events.k8s.io) is narrowed by the receiver's annotated/constructed class;
            # if that is unknown it is recorded for each (see `ambiguous`).
            if isinstance(node.value, ast.Name) and len(endpoints) > 1:
                known = receivers.get(node.value.id, set())
                narrowed = tuple(e for e in endpoints if e.api_class in known)
                endpoints = narrowed or endpoints
            # `watch=True` on a list call, or the method handed to Watch().stream().
            watched = streamed or (
                called
                and any(
                    k.arg == "watch" and isinstance(k.value, ast.Constant) and bool(k.value.value)
                    for k in parent.keywords  # type: ignore[union-attr]
                )
            )
            # A watch request (GET ...?watch=true) is authorized by the watch verb alone.
            for endpoint in endpoints:
                args = _call_args(parent, endpoint, aliases) if called else {}  # type: ignore[arg-type]
                used[permission_of(endpoint, args, watch=watched)].append(where)
    return dict(used)


def ambiguous(used: dict[Permission, list[str]]) -> dict[str, set[Permission]]:
    """Call sites recorded under more than one permission (see client_calls)."""
    by_site: defaultdict[str, set[Permission]] = defaultdict(set)
    for permission, sites in used.items():
        for site in sites:
            by_site[site].add(permission)
    return {site: perms for site, perms in by_site.items() if len(perms) > 1}


def kopf_resources(handlers: Path) -> set[tuple[str, str]]:
    """(group, plural) of every resource a kopf decorator in handlers.py serves."""
    tree = ast.parse(handlers.read_text(), str(handlers))
    constants = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and "kopf." in ast.unparse(node.func)):
            continue
        func = ast.unparse(node.func)
        if not re.fullmatch(r"kopf\.(on\.\w+|timer|daemon|index)", func) or func in (
            "kopf.on.startup", "kopf.on.cleanup", "kopf.on.login", "kopf.on.probe"
        ):
            continue
        args: list[ast.expr] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name):
                value = constants[arg.value.id]
                assert isinstance(value, ast.Tuple), f"{func}: *{arg.value.id} is not a tuple"
                args.extend(value.elts)
            else:
                args.append(arg)
        values = [_value(a, {}) for a in args]
        if len(values) != 3 or None in values:
            where = f"{handlers.name}:{node.lineno}"
            raise LookupError(f"{where}: {func} needs literal (group, version, plural)")
        found.add((str(values[0]), str(values[2])))
    return found


def kopf_scanning_disabled(handlers: Path) -> bool:
    """`settings.scanning.disabled = True` in a startup handler: kopf then does not
    watch CustomResourceDefinitions at run time (kopf/_core/reactor/observation.py)."""
    for node in ast.walk(ast.parse(handlers.read_text(), str(handlers))):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            targets = [ast.unparse(t) for t in node.targets]
            if node.value.value is True and any(t.endswith("scanning.disabled") for t in targets):
                return True
    return False


def kopf_needs(handlers: Path, more_handlers: tuple[Path, ...] = ()
               ) -> dict[Permission, list[str]]:
    """What kopf itself calls for the handlers (`handlers` configures kopf; handler
    files in `more_handlers` add resources), peering and events."""
    needs: defaultdict[Permission, list[str]] = defaultdict(list)
    if not kopf_scanning_disabled(handlers):
        for verb in ("list", "watch"):
            needs[Permission("apiextensions.k8s.io", "customresourcedefinitions", verb)].append(
                "kopf observes CRDs at run time unless settings.scanning.disabled"
            )
    served = set(kopf_resources(handlers))
    for extra in more_handlers:
        served |= kopf_resources(extra)
    for group, plural in sorted(served):
        why = f"kopf serves {plural}.{group} (handlers)"
        for verb in ("list", "watch", "patch"):  # watch stream; finalizer + progress patches
            needs[Permission(group, plural, verb)].append(why)
        # kopf writes `status` through the status subresource when the CRD has one.
        needs[Permission(group, f"{plural}/status", "patch")].append(why)
    needs[Permission("", "events", "create")].append("kopf posts warnings as Events")
    for verb in ("list", "watch", "patch"):
        needs[Permission("kopf.dev", "clusterkopfpeerings", verb)].append(
            "kopf peering (TENANT_EXIT_PEERING_NAME)"
        )
    return dict(needs)


def operator_needs() -> dict[Permission, list[str]]:
    needs: defaultdict[Permission, list[str]] = defaultdict(list)
    kopf = kopf_needs(SOURCE / "handlers.py", (SOURCE / "extraction_handlers.py",))
    for source in (client_calls(OPERATOR_SOURCES), kopf):
        for permission, sites in source.items():
            needs[permission].extend(sites)
    return dict(needs)


def granted(rules: list[dict[str, Any]]) -> set[Permission]:
    """Expand ClusterRole rules; wildcards and non-resource URLs are refused outright."""
    out: set[Permission] = set()
    for rule in rules:
        fields = [rule.get("apiGroups", []), rule.get("resources", []), rule.get("verbs", [])]
        if any("*" in value for field in fields for value in field):
            raise ValueError(f"wildcard in ClusterRole rule {rule}")
        if rule.get("nonResourceURLs") or rule.get("resourceNames"):
            raise ValueError(f"unexpected rule shape {rule}")
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    out.add(Permission(group, resource, verb))
    return out
