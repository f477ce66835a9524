"""Deploy strategies, one module each (Orca's Strategy beans). The engine knows nothing of them:
a createServerGroup/cloneServerGroup stage asks its strategy for before-, after- and on-failure
stages, and the strategy composes them from ordinary stages (shrinkCluster, disableCluster,
scaleDownCluster, resizeServerGroup, pinServerGroup, pipeline, wait ...).

| ``strategy`` | module |
|---|---|
| ``""`` / ``none`` (and unknown names, as in Orca) | none |
| ``highlander`` | highlander |
| ``redblack`` | red_black |
| ``rollingredblack`` | rolling_red_black |
| ``custom`` | custom |

``monitored`` (a deployment monitor service), ``rollingpush`` (deprecated) and
``cfrollingredblack`` (Cloud Foundry) are not available; a deploy naming one fails saying so.
"""

from __future__ import annotations

from typing import Any

from gennaker.model.execution import Stage
from gennaker.stages.cloud.strategies.base import Strategy, base_context
from gennaker.stages.cloud.strategies.custom import CustomStrategy
from gennaker.stages.cloud.strategies.highlander import HighlanderStrategy
from gennaker.stages.cloud.strategies.none import NoStrategy
from gennaker.stages.cloud.strategies.red_black import RedBlackStrategy
from gennaker.stages.cloud.strategies.rolling_red_black import RollingRedBlackStrategy

__all__ = ["STRATEGIES", "Strategy", "base_context", "problem_of", "strategy_for"]

STRATEGIES: tuple[Strategy, ...] = (
    NoStrategy(),
    HighlanderStrategy(),
    RedBlackStrategy(),
    RollingRedBlackStrategy(),
    CustomStrategy(),
)
UNAVAILABLE = {
    "monitored": "the monitored strategy (a deployment monitor service) is not available in Gennaker",
    "rollingpush": "the rollingpush strategy is deprecated in Spinnaker and not available in Gennaker",
    "cfrollingredblack": "cfrollingredblack is Cloud Foundry's strategy and not available in Gennaker",
}


def _key(value: Any) -> str:
    return str(value or "").strip().lower()


def strategy_for(value: Any) -> Strategy | None:
    """The strategy named by a stage's ``strategy`` (blank and unknown names are none, as in
    Orca); None for the ones Gennaker does not offer (see UNAVAILABLE)."""
    text = _key(value)
    if text in UNAVAILABLE:
        return None
    found = next((s for s in STRATEGIES if s.name == text), None)
    return found if found is not None else STRATEGIES[0]


def problem_of(stage: Stage) -> str | None:
    """Why the stage's strategy cannot run as configured (names the field), or None."""
    text = _key(stage.context.get("strategy"))
    if text in UNAVAILABLE:
        return f'strategy {stage.context.get("strategy")!r}: {UNAVAILABLE[text]}; use "", "highlander", "redblack", "rollingredblack" or "custom"'
    strategy = strategy_for(text)
    check = getattr(strategy, "problem", None)
    found = check(stage) if callable(check) else None
    return str(found) if found else None
