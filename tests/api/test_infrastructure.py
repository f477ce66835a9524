"""Gate's credentials and infrastructure reads over a real local server group (created through
the provider's operations), and the empty answers for what the local provider does not have."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gennaker.providers.protocol import OperationRequest
from gennaker.providers.search import search
from gennaker.services import Services

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello"


@pytest.fixture
def deployed(make_api: Callable[..., tuple[Services, Any]], tmp_path: Path) -> Iterator[tuple[Services, Any]]:
    services, client = make_api(data_dir=str(tmp_path / "data"))
    package = tmp_path / "hello"
    shutil.copytree(EXAMPLE, package)
    clouddriver = services.clouddriver
    provider = clouddriver.registry.get("local")
    submit = clouddriver.operations.submit
    baked = asyncio.run(
        submit(provider, OperationRequest("b", "bake", {"package": str(package)}, "local", "shop"))
    )
    assert baked.result is not None
    description = {
        "application": "shop",
        "stack": "web",
        "command": [sys.executable, "app.py"],
        "imageId": baked.result["imageId"],
        "capacity": {"min": 1, "max": 2, "desired": 2},
    }
    created = asyncio.run(
        submit(provider, OperationRequest("c", "createServerGroup", description, "local", "shop"))
    )
    assert created.status == "SUCCEEDED", created.error
    try:
        yield services, client
    finally:
        provider.stop_all()  # type: ignore[attr-defined]


def test_credentials_default_to_one_local_account(client: Any) -> None:
    listed = client.get("/credentials").json()
    assert [(a["name"], a["type"], a["cloudProvider"]) for a in listed] == [("local", "local", "local")]
    expanded = client.get("/credentials", params={"expand": "true"}).json()[0]
    assert expanded["regions"] == [
        {"name": "local", "availabilityZones": ["local"], "preferredZones": ["local"], "deprecated": False}
    ]
    assert client.get("/credentials/local").json()["accountId"] == "local"
    missing = client.get("/credentials/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["message"]


def test_configured_accounts(make_api: Callable[..., tuple[Services, Any]]) -> None:
    _, client = make_api(
        **{"providers.local.accounts": [{"name": "dev", "region": "host1"}, {"name": "prod"}]}
    )
    assert [a["name"] for a in client.get("/credentials").json()] == ["dev", "prod"]
    assert client.get("/credentials/dev").json()["regions"][0]["name"] == "host1"


def test_read_endpoints_have_clouddrivers_shapes(deployed: tuple[Services, Any]) -> None:
    services, client = deployed
    assert client.get("/applications/shop/clusters").json() == {"local": ["shop-web"]}
    in_account = client.get("/applications/shop/clusters/local").json()
    assert in_account == [
        {
            "name": "shop-web",
            "account": "local",
            "type": "local",
            "moniker": {"app": "shop", "cluster": "shop-web", "stack": "web"},
            "loadBalancers": [],
            "serverGroups": ["shop-web-v000"],
        }
    ]
    cluster = client.get("/applications/shop/clusters/local/shop-web").json()
    assert cluster["name"] == "shop-web" and [g["name"] for g in cluster["serverGroups"]] == ["shop-web-v000"]
    assert client.get("/applications/shop/clusters/local/nope").json() == {}
    summary = client.get("/applications/shop/serverGroups").json()[0]
    assert summary["name"] == "shop-web-v000" and summary["application"] == "shop"
    assert summary["capacity"] == {"min": 1, "max": 2, "desired": 2}
    assert summary["moniker"] == {"app": "shop", "cluster": "shop-web", "stack": "web", "sequence": 0}
    assert set(summary["instanceCounts"]) >= {"total", "up", "down", "unknown", "outOfService", "starting"}
    assert summary["instanceCounts"]["total"] == 2
    assert {"id", "name", "healthState", "launchTime", "availabilityZone", "health"} == set(
        summary["instances"][0]
    )
    assert summary["instances"][0]["health"][0] == {"type": "Local", "state": "Starting"}
    expanded = client.get("/applications/shop/serverGroups", params={"expand": "true"}).json()[0]
    assert (
        expanded["accountName"] == "local" and expanded["stack"] == "web" and expanded["instances"][0]["port"]
    )
    assert client.get("/applications/shop/serverGroups", params={"clusters": ""}).json() == []
    full = client.get("/serverGroups/local/local/shop-web-v000").json()
    assert full["isDisabled"] is False and full["disabled"] is False and full["createdTime"] > 0
    assert full["image"]["imageId"].startswith("sha256:") and full["buildInfo"]["images"]
    assert (
        client.get("/applications/shop/serverGroups/local/local/shop-web-v000").json()["insightActions"] == []
    )
    assert client.get("/applications/shop/serverGroups/local/local/nope").json() == {}
    assert client.get("/serverGroups/local/local/nope").status_code == 404
    instance = client.get("/instances/local/local/shop-web-v000-0").json()
    assert instance["serverGroup"] == "shop-web-v000" and instance["health"][0]["healthClass"] == "platform"
    console = client.get("/instances/local/local/shop-web-v000-0/console").json()
    assert [o["name"] for o in console["output"]] == ["stdout", "stderr"]
    assert client.get("/instances/local/local/nope/console").status_code == 404
    assert client.get("/applications/shop/loadBalancers").json() == []
    assert client.get("/loadBalancers/local/local/nope").json() == []
    assert client.get("/securityGroups").json() == []
    assert client.get("/applications/shop/serverGroupManagers").json() == []
    images = client.get("/images/find", params={"provider": "local", "q": "hello"}).json()
    assert images[0]["amis"] == {"local": [full["image"]["imageId"]]}
    found = search(services.clouddriver, "shop-web-v000", "instances")[0]
    assert found["totalMatches"] == 2 and found["results"][0]["instanceId"] == "shop-web-v000-0"
    groups = search(services.clouddriver, "shop", "serverGroups")[0]["results"]
    assert groups[0]["serverGroup"] == "shop-web-v000" and groups[0]["sequence"] == 0
    through_api = client.get("/search", params={"q": "shop-web-v000-1", "type": "instances"}).json()[0]
    assert [r["instanceId"] for r in through_api["results"]] == ["shop-web-v000-1"]
    by_type = client.get("/search", params={"q": "shop-web", "type": "serverGroups,clusters"}).json()[0][
        "results"
    ]
    assert {(r["type"], r.get("serverGroup") or r.get("cluster")) for r in by_type} == {
        ("serverGroups", "shop-web-v000"),
        ("clusters", "shop-web"),
    }


def test_ad_hoc_tasks_are_listed_for_their_application(client: Any) -> None:
    job = {
        "type": "resizeServerGroup",
        "cloudProvider": "local",
        "credentials": "local",
        "region": "local",
        "serverGroupName": "shop-web-v000",
        "capacity": {"min": 1, "max": 1, "desired": 1},
    }
    ref = client.post(
        "/applications/shop/tasks", json={"application": "shop", "description": "Resize", "job": [job]}
    ).json()["ref"]
    listed = client.get("/applications/shop/tasks").json()
    assert [t["id"] for t in listed] == [ref.rsplit("/", 1)[1]]
    assert listed[0]["name"] == "Resize"
    assert client.get("/applications/other/tasks").json() == []
