"""How much of a load balancer's traffic a server group's instances take: the cluster field
``trafficWeight`` (a Gennaker addition, which Spinnaker ignores), HAProxy's server weight 0-256 for
each of its instances, default 100.

A canary shares a load balancer with production this way: with production at 100 per instance,
baseline and canary server groups of one instance each at ``trafficWeight`` 10 get about 10 / (n x
100 + 20) of the requests each, where n is production's instance count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.providers.protocol import OperationError

DEFAULT_WEIGHT = 100
MAX_WEIGHT = 256


def check_weight(description: Mapping[str, Any]) -> int | None:
    """The description's ``trafficWeight`` (None when absent); OperationError naming the field."""
    raw = description.get("trafficWeight")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_WEIGHT:
        raise OperationError(
            f"trafficWeight must be a whole number from 0 to {MAX_WEIGHT} (HAProxy's server weight; "
            f"{DEFAULT_WEIGHT} is the default), got {raw!r}"
        )
    return raw


def weight_of(spec: Mapping[str, Any]) -> int:
    """The HAProxy weight of each instance of a server group with this spec."""
    raw = spec.get("trafficWeight")
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else DEFAULT_WEIGHT
