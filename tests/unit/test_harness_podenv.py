"""Pure rules of the process kubelet: $(VAR) expansion, env precedence,
ENTRYPOINT/CMD selection, path mapping, termination messages, pod phase."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from kubernetes.client import models as k

from tests.localcluster.podenv import (
    ConfigError,
    LocalImage,
    PathMap,
    command_line,
    container_env,
    expand,
    termination_message,
)
from tests.localcluster.podstatus import ContainerRun, phase


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)", "1"),
        ("x$(A)y$(B)", "x1y2"),
        ("$$(A)", "$(A)"),
        ("$(MISSING)", "$(MISSING)"),
        ("$(A", "$(A"),
        ("$A", "$A"),
        ("cost: 5$", "cost: 5$"),
        ("$$", "$"),
        ("$(A)$(A)", "11"),
    ],
)
def test_expand_follows_kubernetes(text: str, expected: str) -> None:
    assert expand(text, {"A": "1", "B": "2"}) == expected


def _pod() -> k.V1Pod:
    return k.V1Pod(
        metadata=k.V1ObjectMeta(name="p", namespace="ns", uid="u", labels={"app": "x"}),
        spec=k.V1PodSpec(containers=[], node_name="node"),
    )


SECRETS: dict[str, Mapping[str, bytes]] = {"s": {"k": b"secret"}}
CONFIG_MAPS: dict[str, Mapping[str, str]] = {"c": {"a": "from-cm", "b": "2"}}


def _env(container: k.V1Container) -> dict[str, str]:
    return container_env(_pod(), container, secret=SECRETS.get, config_map=CONFIG_MAPS.get)


def test_env_order_envfrom_then_env_with_expansion() -> None:
    container = k.V1Container(
        name="c",
        env_from=[k.V1EnvFromSource(config_map_ref=k.V1ConfigMapEnvSource(name="c"),
                                    prefix="P_")],
        env=[
            k.V1EnvVar(name="P_a", value="overridden $(P_b)"),
            k.V1EnvVar(name="S", value_from=k.V1EnvVarSource(
                secret_key_ref=k.V1SecretKeySelector(name="s", key="k"))),
            k.V1EnvVar(name="LATER", value="$(EARLIER)"),
            k.V1EnvVar(name="EARLIER", value="e"),
            k.V1EnvVar(name="LABEL", value_from=k.V1EnvVarSource(
                field_ref=k.V1ObjectFieldSelector(field_path="metadata.labels['app']"))),
        ],
    )
    env = _env(container)
    assert env == {"P_a": "overridden 2", "P_b": "2", "S": "secret", "LATER": "$(EARLIER)",
                   "EARLIER": "e", "LABEL": "x"}


def test_missing_references_fail_unless_optional() -> None:
    def var(key: str, optional: bool | None) -> k.V1EnvVar:
        return k.V1EnvVar(name="V", value_from=k.V1EnvVarSource(
            config_map_key_ref=k.V1ConfigMapKeySelector(name="c", key=key, optional=optional)))

    optional = k.V1Container(name="c", env=[var("nope", True)])
    assert _env(optional) == {}
    required = k.V1Container(name="c", env=[var("nope", None)])
    with pytest.raises(ConfigError, match='key nope in configmap "c"'):
        _env(required)
    missing = k.V1Container(name="c", env_from=[k.V1EnvFromSource(
        secret_ref=k.V1SecretEnvSource(name="absent"))])
    with pytest.raises(ConfigError, match='secret "absent" not found'):
        _env(missing)


def test_command_line_follows_entrypoint_and_cmd_rules() -> None:
    images = {"tenant-exit-operator": LocalImage(("tenant-exit",), ("operator",))}
    image = "registry.example/x/tenant-exit-operator:0.1"
    assert command_line(k.V1Container(name="c", image=image), {}, images) == [
        "tenant-exit", "operator"]
    assert command_line(
        k.V1Container(name="c", image=image, args=["worker", "$(MODE)"]), {"MODE": "backup"},
        images,
    ) == ["tenant-exit", "worker", "backup"]
    assert command_line(k.V1Container(name="c", image=image, command=["sh"]), {}, images) == [
        "sh"]
    with pytest.raises(ConfigError, match="no local command"):
        command_line(k.V1Container(name="c", image="nginx"), {}, images)


def test_path_map_rewrites_mount_paths_at_boundaries_longest_first() -> None:
    paths = PathMap({"/data": "/L/data", "/data/docs": "/L/docs", "/dev/termination-log": "/L/t"})
    assert paths.rewrite("/data/docs/a.pdf") == "/L/docs/a.pdf"
    assert paths.rewrite("/data/x") == "/L/data/x"
    assert paths.rewrite("--out=/data") == "--out=/L/data"
    assert paths.rewrite("echo hi > /dev/termination-log; exit 0") == "echo hi > /L/t; exit 0"
    assert paths.rewrite('[{"path": "/data/docs"}]') == '[{"path": "/L/docs"}]'
    assert paths.rewrite("/database /other/data /data.bak") == "/database /other/data /data.bak"


def test_termination_message_prefers_the_file_then_the_log_tail_on_error() -> None:
    assert termination_message(b"done", 1, "FallbackToLogsOnError", b"log") == "done"
    assert termination_message(b"", 1, "FallbackToLogsOnError", b"a\nboom") == "a\nboom"
    assert termination_message(b"", 0, "FallbackToLogsOnError", b"fine") == ""
    assert termination_message(b"", 1, "File", b"boom") == ""
    assert len(termination_message(b"x" * 10000, 0, "File", b"")) == 4096


def _ended(code: int) -> ContainerRun:
    run = ContainerRun("c", "i")
    run.running(1)
    run.terminated(code, "")
    return run


def test_phase_per_restart_policy() -> None:
    assert phase("Never", True, [_ended(0), _ended(0)]) == "Succeeded"
    assert phase("Never", True, [_ended(0), _ended(2)]) == "Failed"
    running = ContainerRun("c", "i")
    running.running(2)
    assert phase("Never", True, [_ended(2), running]) == "Running"
    restarting = _ended(1)
    restarting.restart_at = 1.0
    assert phase("OnFailure", True, [restarting]) == "Running"
    assert phase("Never", False, [ContainerRun("c", "i")]) == "Pending"


def test_a_restart_counts_and_keeps_the_last_state() -> None:
    run = _ended(1)
    run.running(3)
    status = run.status()
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert "running" in status["state"]
