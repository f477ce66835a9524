"""End to end on a real ``gennaker up`` (its worker runs several tasks at once): two pipelines
started together, each disabling one of the two server groups of a guarded cluster behind a real
HAProxy, while a load generator sends 50+ requests per second through it. One pipeline succeeds,
the other ends TERMINAL with the traffic guard's message, one server group stays enabled, and not
one request fails."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from gennaker.testing.load import generate_load
from tests.e2e.test_local_provider import EXAMPLE, Up, _free_port, require_haproxy

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-local")]


def _deploy_config(package: str, lb_port: int) -> dict[str, Any]:
    cluster = {
        "cloudProvider": "local",
        "account": "local",
        "region": "local",
        "application": "hello",
        "stack": "web",
        "freeFormDetails": "",
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "strategy": "",
        "command": ["python3", "app.py"],
        "env": {"VERSION": "${parameters.version}"},
        "healthCheck": {"path": "/health", "intervalSeconds": 1},
        "loadBalancers": ["hello-web"],
    }
    return {
        "application": "hello",
        "name": "deploy",
        "parameterConfig": [{"name": "version", "default": "1"}],
        "stages": [
            {"refId": "1", "type": "bake", "cloudProvider": "local", "package": package},
            {
                "refId": "2",
                "type": "upsertLoadBalancer",
                "cloudProvider": "local",
                "account": "local",
                "region": "local",
                "name": "hello-web",
                "listeners": [{"port": lb_port, "protocol": "HTTP"}],
                "healthCheck": {"path": "/health", "intervalSeconds": 0.5},
            },
            {"refId": "3", "requisiteStageRefIds": ["1", "2"], "type": "deploy", "clusters": [cluster]},
        ],
    }


def _disable_config(name: str) -> dict[str, Any]:
    return {
        "application": "hello",
        "name": f"disable-{name}",
        "stages": [
            {
                "refId": "1",
                "type": "disableServerGroup",
                "cloudProvider": "local",
                "credentials": "local",
                "region": "local",
                "serverGroupName": name,
            }
        ],
    }


def _save(up: Up, config: dict[str, Any]) -> None:
    saved = httpx.post(f"{up.url}/pipelines", json=config, timeout=30)
    assert saved.status_code in (200, 409), saved.text


def _start(up: Up, name: str, **parameters: str) -> str:
    ref: str = up.post(f"/pipelines/hello/{name}", {"type": "manual", "parameters": parameters})["ref"]
    return ref


def test_two_pipelines_racing_to_disable_a_guarded_cluster_leave_one_enabled(
    gennaker_up: Up, tmp_path: Path
) -> None:
    require_haproxy()
    up = gennaker_up
    package = tmp_path / "hello"
    shutil.copytree(EXAMPLE, package)
    lb = _free_port()
    guards = [{"account": "local", "location": "local", "stack": "web", "detail": "", "enabled": True}]
    up.post("/applications", {"name": "hello", "email": "team@example.com", "trafficGuards": guards})
    _save(up, _deploy_config(str(package), lb))
    for version in ("1", "2"):
        done = up.wait(_start(up, "deploy", version=version))
        assert done["status"] == "SUCCEEDED", str(done)[:3000]
    for name in ("hello-web-v000", "hello-web-v001"):
        _save(up, _disable_config(name))
    with generate_load(f"http://127.0.0.1:{lb}/", rate=60) as load:
        load.wait_for(lambda answers: len(answers) >= 30)
        refs = [_start(up, "disable-hello-web-v000"), _start(up, "disable-hello-web-v001")]
        results = [up.wait(ref) for ref in refs]
        load.wait_for(lambda answers: len(answers) >= 120)
    load.assert_no_failures(minimum=100)
    assert sorted(r["status"] for r in results) == ["SUCCEEDED", "TERMINAL"]
    refused = next(r for r in results if r["status"] == "TERMINAL")
    errors = [
        e
        for stage in refused["stages"]
        for e in ((stage.get("context") or {}).get("exception") or {}).get("details", {}).get("errors", [])
    ]
    assert any(
        "This cluster ('hello-web' in local/local) has traffic guards enabled." in e
        and "would leave the cluster with no instances up." in e
        for e in errors
    ), errors
    groups = {g["name"]: g for g in up.get("/applications/hello/serverGroups")}
    assert sorted(name for name, g in groups.items() if not g["isDisabled"]) in (
        ["hello-web-v000"],
        ["hello-web-v001"],
    )
