"""Orca's selection rules of disableCluster, scaleDownCluster and shrinkCluster (reference §4.5),
on server groups shaped as the read model serves them."""

from __future__ import annotations

from typing import Any

from gennaker.stages.cloud.cluster_support import Location, is_active, locations_of, without_parent_deploys
from gennaker.stages.cloud.disable_cluster import select_disable
from gennaker.stages.cloud.scale_down_cluster import select_scale_down
from gennaker.stages.cloud.shrink_cluster import select_shrink


def group(seq: int, *, disabled: bool = False, up: int = 1, size: int | None = None) -> dict[str, Any]:
    count = up if size is None else size
    instances = [{"name": f"i{seq}-{n}", "healthState": "Up" if n < up else "Down"} for n in range(count)]
    return {
        "name": f"app-web-v{seq:03d}",
        "region": "local",
        "createdTime": 1000 + seq,
        "disabled": disabled,
        "instances": instances,
    }


def names(groups: list[dict[str, Any]]) -> list[str]:
    return [g["name"] for g in groups]


def here(*groups: dict[str, Any], parents: set[str] | None = None) -> Location:
    listed = list(groups)
    return Location("local", listed, without_parent_deploys(listed, parents or set()))


def test_active_means_enabled_or_some_instance_up() -> None:
    assert is_active(group(1))
    assert is_active(group(1, disabled=True, up=1))
    assert not is_active(group(1, disabled=True, up=0, size=2))


def test_parent_deploys_and_newer_ones_are_left_out() -> None:
    groups = [group(1), group(2), group(3), group(4)]
    assert names(without_parent_deploys(groups, {"app-web-v003"})) == ["app-web-v001", "app-web-v002"]
    assert names(without_parent_deploys(groups, set())) == names(groups)


def test_disable_keeps_the_newest_active_counting_parent_deploys() -> None:
    loc = here(group(1), group(2), group(3, disabled=True, up=0), group(4), parents={"app-web-v004"})
    # one remaining enabled is the parent deploy itself, so every other active one goes
    assert names(select_disable({}, loc)) == ["app-web-v002", "app-web-v001"]
    assert names(select_disable({"remainingEnabledServerGroups": 2}, loc)) == ["app-web-v001"]
    assert select_disable({"remainingEnabledServerGroups": "3"}, loc) == []


def test_disable_prefers_larger_with_deck_strings() -> None:
    loc = here(group(1, up=3), group(2, up=1), group(3, up=2))
    assert names(select_disable({"preferLargerOverNewer": "true"}, loc)) == ["app-web-v003", "app-web-v002"]
    assert names(select_disable({"preferLargerOverNewer": "false"}, loc)) == ["app-web-v002", "app-web-v001"]


def test_scale_down_spares_active_unless_allowed() -> None:
    loc = here(
        group(1, disabled=True, up=0, size=2),
        group(2, disabled=True, up=0, size=2),
        group(3),
    )
    # the active v003 is not a candidate and counts as kept: both disabled ones go
    assert names(select_scale_down({}, loc)) == ["app-web-v002", "app-web-v001"]
    assert names(select_scale_down({"remainingFullSizeServerGroups": 2}, loc)) == ["app-web-v001"]
    # allowed: active first, then newest; v003 kept, the rest scaled down
    assert names(select_scale_down({"allowScaleDownActive": "true"}, loc)) == ["app-web-v002", "app-web-v001"]
    assert names(
        select_scale_down({"allowScaleDownActive": True, "remainingFullSizeServerGroups": 0}, loc)
    ) == [
        "app-web-v003",
        "app-web-v002",
        "app-web-v001",
    ]


def test_scale_down_prefers_larger() -> None:
    loc = here(
        group(1, disabled=True, up=0, size=4),
        group(2, disabled=True, up=0, size=1),
        group(3, disabled=True, up=0, size=2),
    )
    assert names(select_scale_down({"preferLargerOverNewer": True}, loc)) == ["app-web-v003", "app-web-v002"]


def test_shrink_keeps_active_and_counts_them() -> None:
    loc = here(group(1, disabled=True, up=0), group(2, disabled=True, up=0), group(3), group(4))
    # two active ones are kept and exceed shrinkToSize 1: keep is negative, every candidate goes
    assert names(select_shrink({}, loc)) == ["app-web-v002", "app-web-v001"]
    assert names(select_shrink({"shrinkToSize": 3}, loc)) == ["app-web-v001"]


def test_shrink_allow_delete_active_keeps_active_then_newest() -> None:
    loc = here(group(1), group(2, disabled=True, up=0), group(3), parents={"app-web-v003"})
    # v003 is the parent deploy: excluded and counted as kept
    assert names(select_shrink({"allowDeleteActive": "true", "shrinkToSize": 1}, loc)) == [
        "app-web-v001",
        "app-web-v002",
    ]
    assert names(select_shrink({"allowDeleteActive": True, "shrinkToSize": 2}, loc)) == ["app-web-v002"]


def test_shrink_retains_larger_over_newer() -> None:
    loc = here(
        group(1, disabled=True, up=0, size=5),
        group(2, disabled=True, up=0, size=1),
        group(3, disabled=True, up=0, size=2),
    )
    assert names(select_shrink({"retainLargerOverNewer": "true", "shrinkToSize": 1}, loc)) == [
        "app-web-v003",
        "app-web-v002",
    ]
    assert names(select_shrink({"shrinkToSize": 1}, loc)) == ["app-web-v002", "app-web-v001"]


def test_locations_follow_orcas_order() -> None:
    assert locations_of({"region": "b", "regions": ["a", "a", "c"]}) == ["a", "c"]
    assert locations_of({"region": "b"}) == ["b"]
    assert locations_of({"namespaces": ["n"], "regions": ["r"]}) == ["n"]
    assert locations_of({}) == []
