"""A real Kubernetes v1.19 control plane for tests (../shared/kube), shared by every kube test.

`start_control_plane()` unpacks the bundled binaries once into a cache directory, starts etcd,
kube-apiserver, kube-controller-manager and kube-scheduler on ephemeral 127.0.0.1 ports under a
fresh temporary directory, and runs the kubelet stand-in (simulate-kubelet.py) for node `node-1`:
pods scheduled there become Running/Ready within half a second. A second node, `manual-1`, is Ready
but tainted; pods that tolerate the taint (see `MANUAL_POD_SPEC`) stay un-ready until a test calls
`mark_pod_ready`, for tests that watch a rollout wait. `stop()` stops only the processes it started.

The pytest fixtures live in tests/conftest.py: `kube_cluster` (session-scoped) and
`kube_namespace` (a fresh namespace per test, deleted afterwards). Mark kube tests
`@pytest.mark.xdist_group("kube")` so that one worker runs them all against one cluster.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
MANUAL_NODE = "manual-1"
MANUAL_TAINT_KEY = "gennaker.test/manual-readiness"
# Added to a pod template so that its pods land on the node no stand-in kubelet serves.
MANUAL_POD_SPEC: dict[str, Any] = {
    "nodeSelector": {"kubernetes.io/hostname": MANUAL_NODE},
    "tolerations": [{"key": MANUAL_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
}


class KubeUnavailable(Exception):
    """The control plane cannot run here (its files or etcd are missing)."""


def kube_dir() -> Path | None:
    """../shared/kube relative to the repository, else /work/shared/kube; None when neither exists."""
    repo = Path(__file__).resolve().parent.parent
    for candidate in (repo.parent / "shared" / "kube", Path("/work/shared/kube")):
        if (candidate / "start-control-plane.sh").is_file():
            return candidate
    return None


def etcd_binary() -> str | None:
    return os.environ.get("ETCD_BIN") or shutil.which("etcd")


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gennaker" / "kube-bin"


def unpacked_binaries(source: Path) -> Path:
    """The bundled .xz binaries unpacked once into a cache dir keyed by their checksums."""
    sums = (source / "SHA256SUMS").read_bytes() if (source / "SHA256SUMS").exists() else b""
    key = hashlib.sha256(sums + str(source).encode()).hexdigest()[:16]
    target = _cache_root() / key
    if all((target / b).is_file() for b in BINARIES):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        for name in BINARIES:
            with (staging / name).open("wb") as out:
                subprocess.run(["xz", "-dc", str(source / f"{name}.xz")], stdout=out, check=True)
            (staging / name).chmod(0o755)
        try:
            staging.rename(target)
        except OSError:  # another process unpacked it first
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not all((target / b).is_file() for b in BINARIES):
        raise KubeUnavailable(f"could not unpack the Kubernetes binaries into {target}")
    return target


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class KubeControlPlane:
    """A running control plane: its kubeconfig, kubectl, API address and client credentials."""

    directory: Path
    kubeconfig: Path
    kubectl: Path
    api_url: str
    ca: Path
    cert: Path
    key: Path
    source: Path
    kubelet: subprocess.Popen[bytes] | None = None
    _ssl: ssl.SSLContext | None = field(default=None, repr=False)

    # -- kubectl and raw API ------------------------------------------------------------------
    def run_kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Runs the bundled kubectl v1.19 against this cluster."""
        proc = subprocess.run(
            [str(self.kubectl), "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object as JSON, or None when it does not exist."""
        args = ["get", kind, name, "-o", "json"] + (["-n", namespace] if namespace else [])
        proc = self.run_kubectl(*args, check=False)
        if proc.returncode != 0:
            if "NotFound" in proc.stderr:
                return None
            raise AssertionError(f"kubectl get {kind} {name}: {proc.stderr.strip()}")
        result: dict[str, Any] = json.loads(proc.stdout)
        return result

    def list(self, kind: str, namespace: str, selector: str | None = None) -> list[dict[str, Any]]:
        args = ["get", kind, "-n", namespace, "-o", "json"] + (["-l", selector] if selector else [])
        items: list[dict[str, Any]] = json.loads(self.run_kubectl(*args).stdout)["items"]
        return items

    def apply(self, manifest: dict[str, Any] | str, namespace: str | None = None) -> None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        self.run_kubectl("apply", "-f", "-", *(["-n", namespace] if namespace else []), input=text)

    def api(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        """One request to the API server with the admin client certificate."""
        if self._ssl is None:
            ctx = ssl.create_default_context(cafile=str(self.ca))
            ctx.load_cert_chain(str(self.cert), str(self.key))
            self._ssl = ctx
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.api_url + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, context=self._ssl, timeout=20) as resp:
            return json.loads(resp.read() or b"null")

    # -- namespaces and pods --------------------------------------------------------------------
    def create_namespace(self, prefix: str = "t") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.api(
            "POST",
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        )
        return name

    def delete_namespace(self, name: str) -> None:
        """Starts the namespace's deletion (the stand-in kubelet finishes its pods' deletion)."""
        try:
            self.api("DELETE", f"/api/v1/namespaces/{name}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise

    def mark_pod_ready(self, namespace: str, pod: str, ready: bool = True) -> None:
        """Posts the status a kubelet would post for a pod on the manual node."""
        status = "True" if ready else "False"
        self.api(
            "PATCH",
            f"/api/v1/namespaces/{namespace}/pods/{pod}/status",
            {
                "status": {
                    "phase": "Running",
                    "podIP": "198.51.100.250",
                    "conditions": [
                        {"type": "Ready", "status": status},
                        {"type": "ContainersReady", "status": status},
                    ],
                }
            },
            content_type="application/strategic-merge-patch+json",
        )

    def wait_for(self, what: str, condition: Callable[[], Any], timeout: float = 60.0) -> Any:
        """Polls `condition` until it returns something truthy; fails naming `what`."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    # -- life cycle -----------------------------------------------------------------------------
    def stop(self) -> None:
        """Stops the stand-in kubelet and the control plane this object started, and removes its dir."""
        if self.kubelet is not None and self.kubelet.poll() is None:
            self.kubelet.send_signal(signal.SIGTERM)
            try:
                self.kubelet.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kubelet.kill()
                self.kubelet.wait()
        subprocess.run(
            [str(self.source / "stop-control-plane.sh"), str(self.directory)],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


def _read_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if "=" in line and not line.startswith("export"):
            k, v = line.split("=", 1)
            env[k] = v
    return env


def start_control_plane(base_tmp: Path | None = None, attempts: int = 3) -> KubeControlPlane:
    """Starts a control plane plus the kubelet stand-in; raises KubeUnavailable when it cannot run."""
    source = kube_dir()
    if source is None:
        raise KubeUnavailable(
            "the Kubernetes control plane files (../shared/kube, /work/shared/kube) are absent"
        )
    etcd = etcd_binary()
    if etcd is None:
        raise KubeUnavailable("etcd is not installed (apt-get install etcd-server; `make test` does it)")
    bins = unpacked_binaries(source)
    last_error = ""
    for _ in range(attempts):
        directory = Path(tempfile.mkdtemp(prefix="kcp-", dir=base_tmp))
        api_port, etcd_port, peer_port, cm_port, sched_port = _free_ports(5)
        env = dict(
            os.environ,
            KUBE_BIN_DIR=str(bins),
            ETCD_BIN=etcd,
            KCP_ETCD_PORT=str(etcd_port),
            KCP_ETCD_PEER_PORT=str(peer_port),
            KCP_CM_PORT=str(cm_port),
            KCP_SCHED_PORT=str(sched_port),
            KCP_TIMEOUT=os.environ.get("KCP_TIMEOUT", "120"),
        )
        proc = subprocess.run(
            [str(source / "start-control-plane.sh"), str(directory), str(api_port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            last_error = proc.stderr[-3000:]
            subprocess.run(
                [str(source / "stop-control-plane.sh"), str(directory)], capture_output=True, timeout=60
            )
            shutil.rmtree(directory, ignore_errors=True)
            continue
        kenv = _read_env(directory / "env")
        plane = KubeControlPlane(
            directory=directory,
            kubeconfig=Path(proc.stdout.strip().splitlines()[-1]),
            kubectl=bins / "kubectl",
            api_url=kenv["KCP_API"],
            ca=Path(kenv["KCP_CA"]),
            cert=Path(kenv["KCP_CERT"]),
            key=Path(kenv["KCP_KEY"]),
            source=source,
        )
        try:
            _add_manual_node(plane)
            with (directory / "simulate-kubelet.log").open("wb") as log:
                plane.kubelet = subprocess.Popen(
                    ["python3", str(source / "simulate-kubelet.py"), str(directory), "--node", "node-1"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            plane.wait_for("node-1 to be registered", lambda p=plane: p.get("node", "node-1"), timeout=60)
        except BaseException:
            plane.stop()
            raise
        return plane
    raise KubeUnavailable(f"the control plane did not start: {last_error}")


def _add_manual_node(plane: KubeControlPlane) -> None:
    resources = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    plane.api(
        "POST",
        "/api/v1/nodes",
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": MANUAL_NODE, "labels": {"kubernetes.io/hostname": MANUAL_NODE}},
            "spec": {"taints": [{"key": MANUAL_TAINT_KEY, "value": "true", "effect": "NoSchedule"}]},
            "status": {
                "capacity": resources,
                "allocatable": resources,
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            },
        },
    )
