"""Running kubectl against one account's cluster (Clouddriver's KubectlJobExecutor).

kubectl rather than a client library: it is what Clouddriver drives, so apply, server-side apply,
replace, the three patch strategies, ``rollout undo`` and ``rollout restart`` behave exactly as
Spinnaker users know them, and the kubeconfig's auth plugins work unchanged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gennaker.providers.kubernetes.settings import KubernetesAccount
from gennaker.providers.protocol import OperationError

_UNREACHABLE = (
    "Unable to connect to the server",
    "connection refused",
    "i/o timeout",
    "no such host",
    "context deadline exceeded",
    "The connection to the server",
    "TLS handshake timeout",
)


class KubectlError(OperationError):
    """kubectl failed; the message is its error output."""

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


class ClusterUnreachable(KubectlError):
    """The API server did not answer; the message names its address."""


class Kubectl:
    """kubectl bound to one account's kubeconfig and context."""

    def __init__(self, binary: str, account: KubernetesAccount) -> None:
        self.binary = binary
        self.account = account

    def resolved_binary(self) -> str | None:
        """The kubectl executable, or None when it cannot be found."""
        if os.sep in self.binary:
            return self.binary if os.access(self.binary, os.X_OK) else None
        return shutil.which(self.binary)

    def base_args(self) -> list[str]:
        args = [self.binary, f"--request-timeout={self.account.request_timeout_seconds}s"]
        if self.account.kubeconfig is not None:
            args += ["--kubeconfig", str(Path(self.account.kubeconfig).expanduser())]
        if self.account.context:
            args += ["--context", self.account.context]
        return args

    def server(self) -> str:
        """The API server address of the account's context (for error messages)."""
        proc = self._exec(["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"])
        return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else "(unknown server)"

    def _exec(self, args: Sequence[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [*self.base_args(), *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=self.account.request_timeout_seconds * 3 + 30,
            )
        except FileNotFoundError:
            raise KubectlError(
                f"kubectl not found ({self.binary!r}); install kubectl or set providers.kubernetes.kubectl"
            ) from None
        except subprocess.TimeoutExpired:
            raise ClusterUnreachable(
                f"account {self.account.name}: kubectl {' '.join(args[:2])} timed out talking to {self.server()}"
            ) from None

    def run(self, args: Sequence[str], stdin: str | None = None) -> str:
        """kubectl's stdout; KubectlError (ClusterUnreachable naming the server) when it fails."""
        proc = self._exec(args, stdin)
        if proc.returncode != 0:
            err = _clean(proc.stderr) or f"kubectl exited with {proc.returncode}"
            if any(marker in err for marker in _UNREACHABLE):
                raise ClusterUnreachable(
                    f"account {self.account.name}: the Kubernetes API server {self.server()} is unreachable: {err}"
                )
            raise KubectlError(err, not_found="(NotFound)" in err or "not found" in err.lower())
        return proc.stdout

    def json(self, args: Sequence[str], stdin: str | None = None) -> Any:
        """kubectl's JSON output, parsed."""
        out = self.run([*args, "-o", "json"], stdin)
        return json.loads(out) if out.strip() else None

    def get(self, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        """One object, or None when it does not exist."""
        try:
            found = self.json(["get", kind, name, *(["-n", namespace] if namespace else [])])
        except KubectlError as exc:
            if exc.not_found and not isinstance(exc, ClusterUnreachable):
                return None
            raise
        return found if isinstance(found, dict) else None

    def list(self, kinds: str, namespace: str | None, selector: str | None = None) -> list[dict[str, Any]]:
        """Objects of the kinds (``a,b``) in a namespace (every namespace when None)."""
        where = ["-n", namespace] if namespace else ["--all-namespaces"]
        found = self.json(["get", kinds, *where, *(["-l", selector] if selector else [])])
        items = found.get("items") if isinstance(found, dict) else None
        return [i for i in items or [] if isinstance(i, dict)]


def _clean(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip() and not line.startswith("Warning:")]
    return re.sub(r"\s+", " ", " ".join(lines)).strip()
