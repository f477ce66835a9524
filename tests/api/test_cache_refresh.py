"""Clouddriver's on-demand cache refresh: ``POST /cache/{cloudProvider}/{type}`` re-reads the
account at once (a real local server group whose cache was wiped comes back), ``GET`` lists no
pending refreshes, and bad requests say what is wrong."""

from __future__ import annotations

from typing import Any

from gennaker.services import Services
from tests.api.test_infrastructure import deployed  # noqa: F401  (the fixture)


def test_a_forced_refresh_brings_the_server_group_back_at_once(deployed: tuple[Services, Any]) -> None:  # noqa: F811
    services, client = deployed
    services.clouddriver.cache.replace("local", "local", [])
    assert client.get("/applications/shop/serverGroups").json() == []
    body = {
        "account": "local",
        "region": "local",
        "serverGroupName": "shop-web-v000",
        "cloudProvider": "local",
    }
    response = client.post("/cache/local/serverGroup", json=body)
    assert response.status_code == 200
    assert response.json() == {"cachedIdentifiersByType": {"serverGroups": ["local:local:shop-web-v000"]}}
    assert [g["name"] for g in client.get("/applications/shop/serverGroups").json()] == ["shop-web-v000"]
    assert client.get("/cache/local/serverGroup").json() == []


def test_orcas_spelling_and_no_account_refresh_every_account(deployed: tuple[Services, Any]) -> None:  # noqa: F811
    services, client = deployed
    services.clouddriver.cache.replace("local", "local", [])
    response = client.post("/cache/local/ServerGroup", json={"asgName": "shop-web-v000", "region": "local"})
    assert response.status_code == 200
    assert response.json()["cachedIdentifiersByType"]["serverGroups"] == ["local:local:shop-web-v000"]


def test_bad_requests_name_what_is_wrong(deployed: tuple[Services, Any]) -> None:  # noqa: F811
    _, client = deployed
    unknown_type = client.post("/cache/local/pod", json={})
    assert unknown_type.status_code == 404 and "OnDemandType" in unknown_type.json()["message"]
    unknown_provider = client.post("/cache/aws/serverGroup", json={})
    assert unknown_provider.status_code == 404 and "'aws'" in unknown_provider.json()["message"]
    unknown_account = client.post("/cache/local/serverGroup", json={"account": "prod"})
    assert unknown_account.status_code == 400 and "prod" in str(unknown_account.json())
    not_an_object = client.post("/cache/local/serverGroup", json=[1])
    assert not_an_object.status_code == 400
