"""``""`` / ``none`` (Orca's NoStrategy): the new server group takes traffic next to the old ones,
which are left as they are."""

from __future__ import annotations

from gennaker.stages.cloud.strategies.base import NoSteps


class NoStrategy(NoSteps):
    """No extra stages."""

    name = "none"
