"""``webhook`` triggers (Echo's WebhookEventHandler): ``POST /webhooks/webhook/{source}`` with any JSON.

A trigger matches when its ``source`` equals the URL's source and every ``payloadConstraints``
entry finds its regex in the payload: the top-level field of that name when present, else the
key read as a JSONPath (``$.repo.name`` or ``repo.name``). The execution's trigger gets the
``payload``, ``parameters`` (= body.parameters) and ``artifacts`` (= body.artifacts). Constraint
regexes are Java regexes run under the expression language's backtracking guard
(``gennaker.triggers.patterns``).

The same matching serves any other type posted to ``/webhooks/{type}/{source}`` that a plugin
registers (see ``gennaker.triggers.sources``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from jsonpath_ng.ext.parser import parse as jsonpath_parse

from gennaker.triggers import common
from gennaker.triggers.patterns import PatternRefused, matches

if TYPE_CHECKING:
    from gennaker.services import Services

Json = dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    """One webhook request: its type, source, parsed body, headers (lower-cased) and raw bytes."""

    type: str
    source: str
    body: Any
    headers: Mapping[str, str]
    raw: bytes = b""
    event_id: str = ""


@dataclass
class Outcome:
    """What a delivery did: the pipelines started (or found already started) and rejected."""

    event_id: str
    results: list[common.StartResult] = field(default_factory=list)

    @property
    def processed(self) -> bool:
        """Echo's ``eventProcessed``: some pipeline matched."""
        return bool(self.results)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def _values_for(payload: Any, key: str) -> list[Any] | None:
    """The values a constraint key selects: the top-level field, else a JSONPath (None: no value)."""
    if isinstance(payload, Mapping) and key in payload:
        return [payload[key]]
    try:
        found = [m.value for m in jsonpath_parse(key).find(payload)]
    except Exception:  # jsonpath-ng raises plain Exceptions (and its own) for bad paths
        return None
    return found or None


def constraints_problem(constraints: Any, payload: Any) -> str | None:
    """Why ``payload`` fails ``payloadConstraints`` (None when every constraint is met)."""
    if not isinstance(constraints, Mapping) or not constraints:
        return None
    for key, pattern in constraints.items():
        values = _values_for(payload, str(key))
        if values is None:
            return f"payload has no {key!r}"
        try:
            if not any(matches(str(pattern), _as_text(v), whole=False) for v in values):
                return f"payload {key!r} does not match {pattern!r}"
        except PatternRefused as exc:
            return f"payloadConstraints[{key!r}] not checked: {exc}"
    return None


def matching(services: Services, delivery: Delivery) -> list[tuple[common.Candidate, str | None]]:
    """Triggers of the delivery's type and source, each with why it does not match (None: it does)."""
    found = []
    for candidate in common.load_candidates(services, delivery.type):
        if str(candidate.trigger.get("source") or "") != delivery.source:
            continue
        found.append(
            (candidate, constraints_problem(candidate.trigger.get("payloadConstraints"), delivery.body))
        )
    return found


def handle(services: Services, delivery: Delivery) -> Outcome:
    """Start every pipeline whose trigger matches the delivery (once per delivery id)."""
    outcome = Outcome(delivery.event_id)
    body = delivery.body if isinstance(delivery.body, Mapping) else {}
    found_parameters = body.get("parameters")
    parameters: dict[str, Any] = dict(found_parameters) if isinstance(found_parameters, Mapping) else {}
    found_artifacts = body.get("artifacts")
    artifacts: list[Any] = list(found_artifacts) if isinstance(found_artifacts, list) else []
    for candidate, problem in matching(services, delivery):
        source = f"{delivery.type}:{delivery.source}"
        if problem is not None:
            common.reject(services, candidate, candidate.trigger, source=source, reason=problem)
            continue
        problem = common.artifacts_problem(candidate.config, candidate.trigger, artifacts)
        if problem is not None:
            common.reject(services, candidate, candidate.trigger, source=source, reason=problem)
            continue
        trigger = common.build_trigger(
            candidate,
            {
                "payload": delivery.body,
                "parameters": parameters,
                "artifacts": artifacts,
                "eventId": delivery.event_id,
                "correlationId": common.correlation(
                    delivery.type, delivery.event_id, candidate.config_id, candidate.trigger_key
                ),
            },
        )
        outcome.results.append(common.start(services, candidate, trigger, source=source))
    return outcome
