"""End to end on a real ``gennaker up``: the rollback Deck's (and the web UI's) server group screen
sends, an ad-hoc ``rollbackServerGroup`` task, brings the previous version back behind a real
HAProxy while a load generator sends 50+ requests per second, without one failed request."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gennaker.testing.load import generate_load
from tests.e2e.test_local_provider import EXAMPLE, Up, _free_port, require_haproxy
from tests.e2e.test_traffic_guard_race import _deploy_config, _save, _start

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-local")]


def test_an_ad_hoc_explicit_rollback_brings_the_previous_version_back(
    gennaker_up: Up, tmp_path: Path
) -> None:
    require_haproxy()
    up = gennaker_up
    package = tmp_path / "hello"
    shutil.copytree(EXAMPLE, package)
    lb = _free_port()
    up.post("/applications", {"name": "hello", "email": "team@example.com"})
    _save(up, _deploy_config(str(package), lb))
    for version in ("1", "2"):
        done = up.wait(_start(up, "deploy", version=version))
        assert done["status"] == "SUCCEEDED", str(done)[:3000]
    target = {"cloudProvider": "local", "credentials": "local", "region": "local", "regions": ["local"]}
    disabled = up.task("hello", {"type": "disableServerGroup", "serverGroupName": "hello-web-v000", **target})
    assert disabled["status"] == "SUCCEEDED", str(disabled)[:3000]
    with generate_load(f"http://127.0.0.1:{lb}/", rate=60) as load:
        load.wait_for_only("2", count=20)
        rollback = up.task(
            "hello",
            {
                "type": "rollbackServerGroup",
                "serverGroupName": "hello-web-v001",
                "moniker": {"app": "hello", "cluster": "hello-web", "stack": "web"},
                "rollbackType": "EXPLICIT",
                "rollbackContext": {
                    "rollbackServerGroupName": "hello-web-v001",
                    "restoreServerGroupName": "hello-web-v000",
                },
                **target,
            },
        )
        assert rollback["status"] == "SUCCEEDED", str(rollback)[:3000]
        load.wait_for_only("1", count=30)
    load.assert_no_failures(minimum=50)
    groups = {g["name"]: g for g in up.get("/applications/hello/serverGroups")}
    assert not groups["hello-web-v000"]["isDisabled"] and groups["hello-web-v001"]["isDisabled"]
    names = [s["name"] for s in rollback["execution"]["stages"]]
    assert (
        "Enable hello-web-v000 due to rollback" in names and "Disable hello-web-v001 due to rollback" in names
    )
