"""Orca's resize actions and pinning (ResizeStrategySupport and the ResizeStrategy family)."""

from __future__ import annotations

from gennaker.stages.cloud.resize_capacity import resize_capacity

NOW = {"min": 1, "max": 4, "desired": 2}


def test_scale_exact_merges_over_the_current_capacity() -> None:
    assert resize_capacity({"capacity": {"desired": 3}}, NOW) == {"min": 1, "max": 4, "desired": 3}
    assert resize_capacity({"capacity": {"max": 1}}, NOW) == {"min": 1, "max": 1, "desired": 1}
    assert "between min" in str(resize_capacity({"capacity": {"desired": 9}}, NOW))


def test_scale_up_and_down_by_percent_or_number() -> None:
    assert resize_capacity({"action": "scale_up", "scaleNum": 2}, NOW) == {"min": 3, "max": 6, "desired": 4}
    assert resize_capacity({"action": "scale_down", "scalePct": 50}, NOW) == {
        "min": 0,
        "max": 2,
        "desired": 1,
    }
    assert "scalePct" in str(resize_capacity({"action": "scale_up"}, NOW))


def test_scale_to_server_group_scales_the_source_and_pins() -> None:
    source = {"min": 4, "max": 4, "desired": 4}
    ctx = {"action": "scale_to_server_group", "scalePct": 25, "pinCapacity": True, "pinMinimumCapacity": True}
    assert resize_capacity(ctx, NOW, source=source) == {"min": 1, "max": 1, "desired": 1}
    ctx = {"action": "scale_to_server_group", "scalePct": 50, "pinMinimumCapacity": "true"}
    assert resize_capacity(ctx, NOW, source=source) == {"min": 2, "max": 4, "desired": 2}
    assert "source" in str(resize_capacity({"action": "scale_to_server_group"}, NOW))


def test_unpin_restores_the_original_min_from_ancestor_outputs() -> None:
    source = {"min": 4, "max": 4, "desired": 4}
    ctx = {
        "action": "scale_to_server_group",
        "scalePct": 100,
        "unpinMinimumCapacity": True,
        "source": {"serverGroupName": "app-v000"},
        "originalCapacity.app-v000": {"min": 1, "max": 4, "desired": 4},
    }
    assert resize_capacity(ctx, NOW, source=source) == {"min": 1, "max": 4, "desired": 4}
    # savedCapacity when no original capacity was recorded
    ctx = {"action": "scale_exact", "capacity": {"min": 3, "max": 3, "desired": 3}}
    assert resize_capacity({**ctx, "unpinMinimumCapacity": True, "savedCapacity": {"min": 2}}, NOW) == {
        "min": 2,
        "max": 3,
        "desired": 3,
    }


def test_scale_to_cluster_takes_the_largest_and_grows_within_max() -> None:
    cluster = [
        {"capacity": {"min": 1, "max": 5, "desired": 2}},
        {"capacity": {"min": 2, "max": 3, "desired": 3}},
    ]
    assert resize_capacity({"action": "scale_to_cluster"}, NOW, cluster=cluster) == {
        "min": 2,
        "max": 5,
        "desired": 3,
    }
    assert (
        resize_capacity({"action": "scale_to_cluster", "scaleNum": 1}, NOW, cluster=cluster)["desired"] == 4
    )  # type: ignore[index]
    assert (
        resize_capacity({"action": "scale_to_cluster", "scalePct": 100}, NOW, cluster=cluster)["desired"] == 5
    )  # type: ignore[index]
    assert "no server groups" in str(resize_capacity({"action": "scale_to_cluster"}, NOW))


def test_unknown_action_names_the_choices() -> None:
    assert "scale_to_cluster" in str(resize_capacity({"action": "grow"}, NOW))
