"""Prometheus HTTP service discovery: every deployed instance a target, labelled with its server
group, cluster and application (a real local server group)."""

from __future__ import annotations

from typing import Any

from gennaker.services import Services
from tests.api.test_infrastructure import deployed  # noqa: F401  (the fixture)


def test_prometheus_discovers_each_instance_with_its_server_group(deployed: tuple[Services, Any]) -> None:  # noqa: F811
    services, client = deployed
    found = client.get("/prometheus/targets", params={"application": "shop"}).json()
    ports = {
        i.id: i.port for i in services.clouddriver.registry.get("local").runtimes["local"].state.instances()
    }  # type: ignore[attr-defined]
    assert sorted(found, key=lambda t: t["labels"]["instance_id"]) == [
        {
            "targets": [f"127.0.0.1:{ports[name]}"],
            "labels": {
                "application": "shop",
                "cluster": "shop-web",
                "server_group": "shop-web-v000",
                "account": "local",
                "region": "local",
                "instance_id": name,
                "cloud_provider": "local",
            },
        }
        for name in ("shop-web-v000-0", "shop-web-v000-1")
    ]
    assert client.get("/prometheus/targets", params={"application": "other"}).json() == []
