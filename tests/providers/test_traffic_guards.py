"""Traffic guard matching and the capacity check (Orca's ClusterMatcher and TrafficGuard)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gennaker.config import ConfigError
from gennaker.providers import traffic_guards
from gennaker.providers.operations import operation_id
from gennaker.providers.protocol import OperationError, OperationRequest
from gennaker.providers.traffic_guards import TrafficGuardError, is_guarded, removal_of, verify_removal
from gennaker.testing import make_services
from gennaker.triggers.lease import RoleLease


def _request(name: str, **description: Any) -> OperationRequest:
    return OperationRequest("op", name, {"serverGroupName": "shop-web-v001", **description}, "prod", "shop")


def test_which_operations_remove_traffic() -> None:
    assert removal_of(_request("disableServerGroup"), "east").descriptor == "Disabling"  # type: ignore[union-attr]
    assert removal_of(_request("disableServerGroup", desiredPercentage=50), "east") is None
    assert removal_of(_request("destroyServerGroup", region="west"), "east").region == "west"  # type: ignore[union-attr]
    assert removal_of(_request("resizeServerGroup", capacity={"desired": 0}), "east") is not None
    assert removal_of(_request("resizeServerGroup", capacity={"desired": 1}), "east") is None
    assert removal_of(_request("enableServerGroup"), "east") is None


def test_guard_matching_with_wildcards_and_empty_parts() -> None:
    guards = [{"account": "prod", "location": "*", "stack": "web", "detail": ""}]
    assert is_guarded(guards, "prod", "east", "web", "")
    assert not is_guarded(guards, "prod", "east", "web", "canary")
    assert not is_guarded(guards, "test", "east", "web", "")
    assert is_guarded(
        [{"account": "*", "location": "east", "stack": "*", "detail": "*"}], "x", "east", "a", "b"
    )
    assert not is_guarded(
        [{"account": "*", "location": "*", "stack": "*", "detail": "*", "enabled": False}], "x", "y", "", ""
    )
    assert not is_guarded(None, "prod", "east", "web", "")


def _group(name: str, up: int, region: str = "east") -> dict[str, Any]:
    return {
        "name": name,
        "cluster": "shop-web",
        "region": region,
        "instances": [{"healthState": "Up"}] * up + [{"healthState": "Down"}],
    }


def test_the_last_up_server_group_cannot_go() -> None:
    removal = removal_of(_request("disableServerGroup", region="east"), "east")
    assert removal is not None
    with pytest.raises(TrafficGuardError) as refused:
        verify_removal(
            removal,
            "prod",
            [_group("shop-web-v001", 2), _group("shop-web-v000", 0), _group("shop-web-v009", 3, "west")],
        )
    assert str(refused.value) == (
        "This cluster ('shop-web' in prod/east) has traffic guards enabled. Disabling [shop-web-v001] "
        "would leave the cluster with no instances up."
    )
    verify_removal(removal, "prod", [_group("shop-web-v001", 2), _group("shop-web-v000", 1)])
    verify_removal(removal, "prod", [_group("shop-web-v001", 0)])  # nothing up: nothing to protect
    verify_removal(removal, "prod", [_group("shop-web-v000", 2)])  # already gone


def test_min_capacity_ratio_message() -> None:
    removal = removal_of(_request("destroyServerGroup", region="east"), "east")
    assert removal is not None
    with pytest.raises(TrafficGuardError) as refused:
        verify_removal(
            removal, "prod", [_group("shop-web-v001", 3), _group("shop-web-v000", 1)], min_ratio=0.3
        )
    assert str(refused.value).endswith(
        "Destroying [shop-web-v001] would leave the cluster with 1 instance up "
        "(25.0% of 4 instances currently up). The configured minimum is 30.0%."
    )


def test_the_ratio_is_a_setting(tmp_path: Any) -> None:
    services = make_services(traffic_guards={"min_capacity_ratio": 0.25}, data_dir=str(tmp_path))
    try:
        assert services.clouddriver.operations.guards.min_capacity_ratio == 0.25
    finally:
        services.close()
    with pytest.raises((ConfigError, ValueError)):
        make_services(traffic_guards={"min_capacity_ratio": 0.5}, data_dir=str(tmp_path))


def test_the_cluster_lock_is_held_and_taken_back_by_a_resumed_operation(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock left by an operation whose worker died is taken back at once by the same operation
    resumed (same id); another operation waits for it, and gives up with a message."""

    monkeypatch.setattr(traffic_guards, "_LOCK_WAIT_S", 0.3)
    services = make_services(f"sqlite:///{tmp_path / 'db.sqlite'}", data_dir=str(tmp_path / "data"))
    try:
        with services.db.transaction() as conn:
            services.applications.create(
                conn,
                {
                    "name": "shop",
                    "email": "a@example.com",
                    "trafficGuards": [{"account": "*", "location": "*", "stack": "*", "detail": "*"}],
                },
            )
        provider = services.clouddriver.registry.get("local")
        guards = services.clouddriver.operations.guards
        first = operation_id("attempt-1", "disableServerGroup")
        left = RoleLease(services.db, services.clock, "cluster:local/local/local/shop-web", first)
        assert left.acquire()  # the worker died holding it

        def request(op_id: str) -> OperationRequest:
            return OperationRequest(
                op_id, "disableServerGroup", {"serverGroupName": "shop-web-v000"}, "local", "shop"
            )

        async def run(op_id: str) -> str:
            async with guards.guarded(provider, request(op_id)):
                return "ran"

        assert asyncio.run(run(first)) == "ran"
        assert left.holder_now() is None  # released when the operation ended
        # Another process holding it now (a new claim: ``left`` would trust its own earlier one).
        holder = RoleLease(services.db, services.clock, "cluster:local/local/local/shop-web", "someone-else")
        assert holder.acquire()
        with pytest.raises(OperationError, match="stayed locked by another operation"):
            asyncio.run(run(operation_id("attempt-2", "disableServerGroup")))
    finally:
        services.close()
