"""bake -> deploy -> resize -> disable/enable -> destroy of real processes (the example service)
through the engine, on SQLite and PostgreSQL; health checks are real HTTP requests."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import urllib.request
from pathlib import Path
from typing import Any

from gennaker.model.status import ExecutionStatus
from tests.stages.cloud.conftest import CloudHarness, deploy_pipeline

S = ExecutionStatus


def _get(port: int, path: str = "/") -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return json.loads(response.read())


def _deploy(cloud: CloudHarness, app_dir: Path, **cluster: Any) -> Any:
    pipeline = deploy_pipeline("shop", str(app_dir), **cluster)
    execution = cloud.start(pipeline["stages"], application="shop")
    return cloud.run_until_complete(execution.id)


def test_bake_and_deploy_start_supervised_instances_that_answer(cloud: CloudHarness, app_dir: Path) -> None:
    # sys.executable, not "python3": a pyenv shim on PATH would add its own variables
    done = _deploy(cloud, app_dir, command=[sys.executable, "app.py"])
    assert done.status == S.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    bake = done.stage_by_ref_id("1")
    assert bake is not None
    details = bake.outputs["deploymentDetails"]
    assert details[0]["imageId"].startswith("sha256:") and details[0]["imageName"].startswith("hello-")
    child = next(s for s in done.stages if s.type == "createServerGroup")
    assert child.context["deploy.server.groups"] == {"local": ["shop-web-v000"]}
    assert child.context["deploy.account.name"] == "local"
    instances = cloud.local.runtimes["local"].state.instances("shop-web-v000")
    assert len(instances) == 2
    answers = {_get(i.port)["instance"] for i in instances}
    assert answers == {"shop-web-v000-0", "shop-web-v000-1"}
    # the instance environment: the cluster's env and the instance's own, not Gennaker's
    environ = Path(f"/proc/{instances[0].pid}/environ").read_bytes().split(b"\0")
    names = {e.split(b"=", 1)[0].decode() for e in environ if e}
    assert {"PORT", "VERSION", "GENNAKER_INSTANCE_ID", "GENNAKER_SERVER_GROUP", "GENNAKER_IMAGE_ID"} <= names
    assert names <= {
        "PORT",
        "VERSION",
        "GENNAKER_INSTANCE_ID",
        "GENNAKER_SERVER_GROUP",
        "GENNAKER_IMAGE_ID",
        "PATH",
        "HOME",
        "LANG",
    }


def test_a_second_deploy_gets_the_next_sequence_and_the_same_image(
    cloud: CloudHarness, app_dir: Path
) -> None:
    first = _deploy(cloud, app_dir, capacity={"min": 1, "max": 1, "desired": 1})
    second = _deploy(cloud, app_dir, capacity={"min": 1, "max": 1, "desired": 1})
    assert first.status == second.status == S.SUCCEEDED
    ids = [e.stage_by_ref_id("1").outputs["deploymentDetails"][0]["imageId"] for e in (first, second)]  # type: ignore[union-attr]
    assert ids[0] == ids[1]
    names = [g.name for g in cloud.local.runtimes["local"].state.groups()]
    assert names == ["shop-web-v000", "shop-web-v001"]


def test_resize_disable_enable_destroy(cloud: CloudHarness, app_dir: Path) -> None:
    assert _deploy(cloud, app_dir).status == S.SUCCEEDED
    common = {
        "cloudProvider": "local",
        "credentials": "local",
        "region": "local",
        "serverGroupName": "shop-web-v000",
    }
    resize = cloud.start(
        [
            {
                "refId": "1",
                "type": "resizeServerGroup",
                **common,
                "capacity": {"min": 3, "max": 3, "desired": 3},
            }
        ],
        application="shop",
    )
    assert cloud.run_until_complete(resize.id).status == S.SUCCEEDED
    state = cloud.local.runtimes["local"].state
    assert len(state.instances("shop-web-v000")) == 3
    down = cloud.start(
        [
            {
                "refId": "1",
                "type": "resizeServerGroup",
                **common,
                "capacity": {"min": 1, "max": 1, "desired": 1},
            }
        ],
        application="shop",
    )
    assert cloud.run_until_complete(down.id).status == S.SUCCEEDED
    assert [i.id for i in state.instances("shop-web-v000")] == ["shop-web-v000-0"]
    disable = cloud.start([{"refId": "1", "type": "disableServerGroup", **common}], application="shop")
    assert cloud.run_until_complete(disable.id).status == S.SUCCEEDED
    assert state.group("shop-web-v000").disabled  # type: ignore[union-attr]
    enable = cloud.start([{"refId": "1", "type": "enableServerGroup", **common}], application="shop")
    assert cloud.run_until_complete(enable.id).status == S.SUCCEEDED
    pid = state.instances("shop-web-v000")[0].pid
    destroy = cloud.start([{"refId": "1", "type": "destroyServerGroup", **common}], application="shop")
    assert cloud.run_until_complete(destroy.id).status == S.SUCCEEDED
    assert state.group("shop-web-v000") is None
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_a_killed_instance_is_reported_down_and_restarted(cloud: CloudHarness, app_dir: Path) -> None:
    assert _deploy(cloud, app_dir, capacity={"min": 1, "max": 1, "desired": 1}).status == S.SUCCEEDED
    state = cloud.local.runtimes["local"].state
    before = state.instances("shop-web-v000")[0]
    assert before.pid is not None
    os.kill(before.pid, signal.SIGKILL)
    seen: list[str] = []

    def restarted() -> bool:
        now = state.instances("shop-web-v000")[0]
        seen.append(now.state)
        return now.pid != before.pid and now.health.get("state") == "Up"

    cloud.run_until(restarted)
    assert "exited" in seen
    after = state.instances("shop-web-v000")[0]
    assert after.restarts == 1 and _get(after.port)["instance"] == "shop-web-v000-0"


def test_an_instance_whose_port_was_taken_while_down_restarts_on_another(
    cloud: CloudHarness, app_dir: Path
) -> None:
    assert _deploy(cloud, app_dir, capacity={"min": 1, "max": 1, "desired": 1}).status == S.SUCCEEDED
    state = cloud.local.runtimes["local"].state
    before = state.instances("shop-web-v000")[0]
    assert before.pid is not None
    os.kill(before.pid, signal.SIGKILL)
    cloud.run_until(lambda: state.instances("shop-web-v000")[0].state == "exited")
    with socket.socket() as squatter:  # another program takes the port while the instance is down
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", before.port))
        squatter.listen()

        def restarted() -> bool:
            now = state.instances("shop-web-v000")[0]
            return now.pid != before.pid and now.health.get("state") == "Up"

        cloud.run_until(restarted)
        after = state.instances("shop-web-v000")[0]
        assert after.port != before.port and after.restarts <= 1
        assert _get(after.port)["instance"] == "shop-web-v000-0"


def test_clone_copies_the_source_and_overlays_the_request(cloud: CloudHarness, app_dir: Path) -> None:
    one = {"min": 1, "max": 1, "desired": 1}
    assert _deploy(cloud, app_dir, capacity=one, env={"VERSION": "1"}).status == S.SUCCEEDED
    clone = cloud.start(
        [
            {
                "refId": "1",
                "type": "cloneServerGroup",
                "cloudProvider": "local",
                "account": "local",
                "region": "local",
                "application": "shop",
                "stack": "web",
                "source": {"serverGroupName": "shop-web-v000", "region": "local", "account": "local"},
                "env": {"VERSION": "2"},
            }
        ],
        application="shop",
    )
    done = cloud.run_until_complete(clone.id)
    assert done.status == S.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    state = cloud.local.runtimes["local"].state
    copy = state.group("shop-web-v001")
    assert copy is not None and copy.capacity == one and copy.spec["env"] == {"VERSION": "2"}
    assert (
        copy.spec["command"] == ["python3", "app.py"]
        and copy.image_id == state.group("shop-web-v000").image_id
    )  # type: ignore[union-attr]
    assert _get(state.instances("shop-web-v001")[0].port)["version"] == "2"
