"""A real Docker registry (Debian's ``docker-registry``, distribution v2) on 127.0.0.1 for tests,
and pushing tiny images to it through the registry API (blob uploads + a schema2 manifest PUT)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

BINARY = shutil.which("docker-registry") or (
    "/usr/bin/docker-registry" if Path("/usr/bin/docker-registry").exists() else None
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def require_registry() -> str:
    """The docker-registry binary; skip (laptop) or fail (CI) when it is not installed."""
    if BINARY is None:
        reason = "docker-registry is not installed (make system-deps installs Debian's docker-registry)"
        if IN_CI:
            pytest.fail(reason + " (CI=true: registry tests must run)")
        pytest.skip(reason)
    return BINARY


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Registry:
    """A registry process with its own storage directory."""

    def __init__(self, workdir: Path) -> None:
        binary = require_registry()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        storage = workdir / "storage"
        storage.mkdir(parents=True)
        config = workdir / "config.yml"
        config.write_text(
            json.dumps(  # YAML is a superset of JSON
                {
                    "version": 0.1,
                    "log": {"level": "error", "accesslog": {"disabled": True}},
                    "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
                    "http": {"addr": f"127.0.0.1:{self.port}"},
                }
            )
        )
        self._log = (workdir / "registry.log").open("wb")
        self.process = subprocess.Popen(
            [binary, "serve", str(config)], stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{self.url}/v2/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"docker-registry did not start: {(workdir / 'registry.log').read_text()[-2000:]}"
                )
            time.sleep(0.05)

    def _blob(self, client: httpx.Client, repository: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = client.post(f"{self.url}/v2/{repository}/blobs/uploads/")
        assert start.status_code == 202, start.text
        location = start.headers["location"]
        if location.startswith("/"):
            location = self.url + location
        sep = "&" if "?" in location else "?"
        done = client.put(
            f"{location}{sep}digest={digest}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, done.text
        return digest

    def push(self, repository: str, tag: str, *, content: str = "") -> str:
        """Push a one-layer image; returns the manifest digest."""
        with httpx.Client(timeout=10) as client:
            layer = f"layer of {repository}:{tag} {content}".encode()
            image_config = json.dumps(
                {
                    "architecture": "amd64",
                    "os": "linux",
                    "rootfs": {"type": "layers", "diff_ids": []},
                    "config": {},
                }
            ).encode()
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": MANIFEST_V2,
                    "config": {
                        "mediaType": "application/vnd.docker.container.image.v1+json",
                        "size": len(image_config),
                        "digest": self._blob(client, repository, image_config),
                    },
                    "layers": [
                        {
                            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                            "size": len(layer),
                            "digest": self._blob(client, repository, layer),
                        }
                    ],
                }
            ).encode()
            put = client.put(
                f"{self.url}/v2/{repository}/manifests/{tag}",
                content=manifest,
                headers={"Content-Type": MANIFEST_V2},
            )
            assert put.status_code == 201, put.text
            return str(put.headers["docker-content-digest"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
