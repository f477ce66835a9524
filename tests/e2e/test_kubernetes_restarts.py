"""A real ``gennaker up`` process deploying to the real control plane is killed with SIGKILL in
the middle of a deployManifest (after its first ``kubectl apply``) and started again: the retried
operation reuses the ConfigMap version it had created and the rollout completes once the pods are
Ready. kubectl is wrapped by a script that parks after the first real apply, so the kill lands
exactly there."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.kube_cluster import MANUAL_POD_SPEC, KubeControlPlane

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kube")]
GENNAKER = str(Path(sys.executable).with_name("gennaker"))

WRAPPER = """#!/bin/sh
# kubectl, parked once right after the first real (not dry-run) apply
"$REAL_KUBECTL" "$@"
rc=$?
case " $* " in
  *" apply "*)
    case "$*" in
      *--dry-run*) ;;
      *) if [ ! -e "$PARK_MARK" ]; then echo $$ > "$PARK_MARK"; exec sleep 120; fi ;;
    esac ;;
esac
exit $rc
"""


class Up:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.url = env["URL"]
        self.log = (tmp / "up.log").open("a")
        self.proc = subprocess.Popen([GENNAKER, "up"], cwd=tmp, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (tmp / "up.log").read_text()
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("gennaker up did not start: " + (tmp / "up.log").read_text())

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()


def _wait(what: str, condition: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_kill_9_mid_deploy_then_restart_completes_with_one_version(
    kube_cluster: KubeControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    ns = kube_namespace
    wrapper = tmp_path / "kubectl"
    wrapper.write_text(WRAPPER)
    wrapper.chmod(0o755)
    mark = tmp_path / "parked"
    (tmp_path / "gennaker.toml").write_text(
        "[worker]\nlease_seconds = 5.0\nliveness_seconds = 3.0\n\n"
        f'[providers.kubernetes]\nkubectl = "{wrapper}"\n\n'
        f'[[providers.kubernetes.accounts]]\nname = "k8s"\nkubeconfig = "{kube_cluster.kubeconfig}"\n'
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")},
        "GENNAKER_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
        "GENNAKER_PORT": str(port),
        "URL": f"http://127.0.0.1:{port}",
        "REAL_KUBECTL": str(kube_cluster.kubectl),
        "PARK_MARK": str(mark),
    }
    manifests = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {"name": "app", "image": "nginx", "envFrom": [{"configMapRef": {"name": "cfg"}}]}
                        ],
                        **MANUAL_POD_SPEC,
                    },
                },
            },
        },
    ]
    pipeline = {
        "application": "shop",
        "name": "deploy",
        "stages": [
            {
                "refId": "1",
                "type": "deployManifest",
                "account": "k8s",
                "cloudProvider": "kubernetes",
                "source": "text",
                "namespaceOverride": ns,
                "moniker": {"app": "shop"},
                "manifests": manifests,
            }
        ],
    }
    first = Up(tmp_path, env)
    parked_pid = None
    second = None
    try:
        ref = httpx.post(f"{first.url}/pipelines/start", json=pipeline, timeout=10).json()["ref"]
        _wait("the first apply", lambda: mark.exists() and mark.read_text().strip())
        parked_pid = int(mark.read_text().strip())
        assert kube_cluster.get("configmap", "cfg-v000", ns) is not None
        assert kube_cluster.get("deployment", "web", ns) is None
        first.kill()
        os.kill(parked_pid, signal.SIGKILL)
        parked_pid = None

        second = Up(tmp_path, env)
        _wait("the deployment", lambda: kube_cluster.get("deployment", "web", ns))
        pods = _wait("web's pod", lambda: kube_cluster.list("pods", ns, "app=web"))
        for pod in pods:
            kube_cluster.mark_pod_ready(ns, pod["metadata"]["name"])

        def finished() -> Any:
            execution = httpx.get(f"{second.url}{ref}", timeout=10).json()
            return execution if execution["status"] in ("SUCCEEDED", "TERMINAL", "CANCELED") else None

        execution = _wait("the execution to finish", finished)
        assert execution["status"] == "SUCCEEDED", json.dumps(
            execution["stages"][0]["context"].get("exception")
        )
        configs = sorted(
            c["metadata"]["name"]
            for c in kube_cluster.list("configmap", ns)
            if c["metadata"]["name"].startswith("cfg")
        )
        assert configs == ["cfg-v000"]
        live = kube_cluster.get("deployment", "web", ns)
        assert live is not None
        assert live["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [
            {"configMapRef": {"name": "cfg-v000"}}
        ]
    finally:
        if parked_pid is not None:
            try:
                os.kill(parked_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        first.stop()
        if second is not None:
            second.stop()
