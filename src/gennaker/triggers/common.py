"""What every trigger source shares (Echo's PipelineInitiator and BaseTriggerEventHandler):
finding the enabled triggers of enabled pipelines, checking expected artifacts, and starting the
pipeline idempotently with a record of what happened in the event log.

A start is one transaction: the execution, its StartExecution message, the ``trigger.fired``
event and whatever the source must record with it (a cron tick) commit together. The trigger's
``correlationId`` (derived from the delivery id, tick or tag) makes a repeated delivery return the
execution the first one started instead of starting another.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker import events
from gennaker.errors import GennakerError
from gennaker.model.artifacts import artifact_matches
from gennaker.templates.plan import TemplatePlanner, is_templated

if TYPE_CHECKING:
    from gennaker.services import Services

log = logging.getLogger(__name__)
Json = dict[str, Any]
#: Trigger-config keys never copied into the execution's trigger (they are secrets).
SECRET_KEYS = frozenset({"secret"})
ORIGIN = "echo"


def is_enabled(trigger: Mapping[str, Any]) -> bool:
    """Spinnaker's ``enabled``: true or the string "true"."""
    value = trigger.get("enabled")
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


@dataclass(frozen=True)
class Candidate:
    """An enabled trigger of an enabled pipeline."""

    config: Json
    trigger: Json
    index: int

    @property
    def config_id(self) -> str:
        """The pipeline config id."""
        return str(self.config.get("id") or "")

    @property
    def trigger_key(self) -> str:
        """The trigger's id, else its position (stable enough to key state by)."""
        return str(self.trigger.get("id") or f"#{self.index}")


def candidates(configs: Sequence[Json], trigger_type: str) -> Iterator[Candidate]:
    """Enabled triggers of ``trigger_type`` (ignoring case) in pipelines that are not disabled."""
    wanted = trigger_type.lower()
    for config in configs:
        if config.get("disabled") is True:
            continue
        triggers = config.get("triggers")
        if not isinstance(triggers, list):
            continue
        for index, trigger in enumerate(triggers):
            if (
                isinstance(trigger, dict)
                and str(trigger.get("type") or "").lower() == wanted
                and is_enabled(trigger)
            ):
                yield Candidate(config, trigger, index)


def triggerable_configs(services: Services, conn: Connection) -> list[Json]:
    """Configs not disabled that have an enabled trigger. A templated pipeline's triggers are its
    planned ones (the template's, inherited, and its own), as Echo asks Orca to plan them; one that
    no longer plans (its template gone, say) cannot be triggered and is logged."""
    planner = TemplatePlanner(services.templates)
    found: list[Json] = []
    for config in services.pipelines.list_all(conn):
        if config.get("disabled") is True:
            continue
        if is_templated(config):
            try:
                planned, _ = planner.plan(conn, config)
            except GennakerError as exc:
                log.warning("templated pipeline %s cannot be triggered: %s", config.get("id"), exc)
                continue
            config = {
                **config,
                "triggers": planned.get("triggers") or [],
                "expectedArtifacts": planned.get("expectedArtifacts") or [],
            }
        triggers = config.get("triggers")
        if isinstance(triggers, list) and any(isinstance(t, dict) and is_enabled(t) for t in triggers):
            found.append(config)
    return found


def load_candidates(services: Services, trigger_type: str) -> list[Candidate]:
    """Read the triggerable pipelines and return the enabled triggers of one type."""
    with services.db.read() as conn:
        configs = triggerable_configs(services, conn)
    return list(candidates(configs, trigger_type))


def artifacts_problem(
    config: Mapping[str, Any], trigger: Mapping[str, Any], received: Sequence[Any]
) -> str | None:
    """Why the received artifacts do not satisfy the trigger's ``expectedArtifactIds`` (None if they do)."""
    wanted = trigger.get("expectedArtifactIds")
    if not isinstance(wanted, list) or not wanted:
        return None
    expected = [
        e for e in config.get("expectedArtifacts") or [] if isinstance(e, Mapping) and e.get("id") in wanted
    ]
    artifacts = [a for a in received if isinstance(a, Mapping)]
    for entry in expected:
        match = entry.get("matchArtifact") or {}
        if any(artifact_matches(match, artifact) for artifact in artifacts):
            return None
    names = ", ".join(str(e.get("displayName") or e.get("id")) for e in expected) or ", ".join(
        map(str, wanted)
    )
    return f"no received artifact matches the expected artifacts {names}"


def correlation(*parts: object) -> str:
    """A correlationId from its parts, hashed when it would not fit the column."""
    text = ":".join(str(p) for p in parts)
    if len(text) <= 200:
        return text
    return text[:120] + ":" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StartResult:
    """What a trigger did for one pipeline."""

    config_id: str
    execution_id: str | None = None
    duplicate: bool = False
    error: str | None = None

    def to_json(self) -> Json:
        """The summary used in responses and events."""
        out: Json = {"pipelineConfigId": self.config_id}
        if self.execution_id:
            out["executionId"] = self.execution_id
        if self.duplicate:
            out["duplicate"] = True
        if self.error:
            out["error"] = self.error
        return out


def build_trigger(candidate: Candidate, event_data: Mapping[str, Any]) -> Json:
    """The execution's trigger: the trigger config (minus secrets) plus what the event brought."""
    trigger = {k: v for k, v in candidate.trigger.items() if k not in SECRET_KEYS}
    trigger.update(event_data)
    if candidate.trigger.get("runAsUser") and not trigger.get("user"):
        trigger["user"] = candidate.trigger["runAsUser"]
    return trigger


def start(
    services: Services,
    candidate: Candidate,
    trigger: Json,
    *,
    source: str,
    guard: Callable[[Connection], bool] | None = None,
) -> StartResult:
    """Start ``candidate``'s pipeline with ``trigger`` (which carries its ``correlationId``).

    ``guard`` runs first in the same transaction; when it returns False nothing is written (the
    work was already done elsewhere). Rejections (a disabled pipeline, a missing required
    parameter, an unbound expected artifact) are recorded as ``trigger.rejected`` events."""
    config = candidate.config
    config_id = candidate.config_id
    trigger_info = _trigger_summary(candidate, trigger, source)
    # An automated trigger runs as its runAsUser service account, which must hold EXECUTE on the
    # application (Fiat); refused, it starts nothing and says why.
    refusal = services.authz.trigger_refusal(_application(config) or "", trigger)
    if refusal is not None:
        reject(services, candidate, trigger, source=source, reason=refusal)
        return StartResult(config_id, error=refusal)
    if services.authz.enabled and trigger.get("runAsUser"):
        trigger = {**trigger, "user": trigger["runAsUser"]}
    try:
        correlation_id = trigger.get("correlationId")
        if correlation_id:
            with services.db.read() as conn:
                existing = services.executions.id_for_correlation(conn, str(correlation_id))
            if existing is not None and guard is None:
                return StartResult(config_id, existing, duplicate=True)
        # Built outside the transaction: the config's expressions (all of them under
        # spelEvaluator v3) may fetch URLs, which must not hold the database's write lock.
        execution = services.launcher.prepare_pipeline(
            None, config, trigger, user=trigger.get("user"), origin=ORIGIN
        )
        with services.db.transaction() as conn:
            if guard is not None and not guard(conn):
                return StartResult(config_id, duplicate=True)
            if correlation_id:
                existing = services.executions.id_for_correlation(conn, str(correlation_id))
                if existing is not None:
                    return StartResult(config_id, existing, duplicate=True)
            services.launcher.enqueue(conn, execution)
            events.record(
                conn,
                ts=services.clock.now_ms(),
                type_=events.TRIGGER_FIRED,
                application=execution.application,
                execution_id=execution.id,
                body={**trigger_info, "executionId": execution.id},
            )
            return StartResult(config_id, execution.id)
    except sa.exc.IntegrityError:
        # A concurrent delivery of the same event won the race for the correlationId.
        with services.db.read() as conn:
            existing = services.executions.id_for_correlation(conn, str(trigger.get("correlationId")))
        if existing is None:
            raise
        return StartResult(config_id, existing, duplicate=True)
    except GennakerError as exc:
        reject(services, candidate, trigger, source=source, reason=exc.message)
        return StartResult(config_id, error=exc.message)


def reject(
    services: Services, candidate: Candidate, trigger: Mapping[str, Any], *, source: str, reason: str
) -> None:
    """Record that a matching trigger did not start its pipeline, and why: at most
    ``[events] rejected_per_window`` such events per application per window (any sender can make
    a webhook match a source and miss a constraint, so an unbounded log would be theirs to fill)."""
    log.info("trigger %s of pipeline %s rejected: %s", source, candidate.config_id, reason)
    limits = services.settings.events
    now = services.clock.now_ms()
    application = _application(candidate.config)
    body: Json = {**_trigger_summary(candidate, trigger, source), "reason": reason}
    with services.db.transaction() as conn:
        since = now - limits.rejected_window_seconds * 1000
        recorded = events.count_since(conn, events.TRIGGER_REJECTED, since, application)
        if recorded >= limits.rejected_per_window:
            return  # the last one recorded already says that the rest are not
        if recorded + 1 == limits.rejected_per_window:
            body["rateLimited"] = True
            body["reason"] = (
                f"{reason} (limit of {limits.rejected_per_window} rejections per "
                f"{limits.rejected_window_seconds} s for application {application} reached: "
                "further rejections are not recorded until the window has passed)"
            )
        events.record(conn, ts=now, type_=events.TRIGGER_REJECTED, application=application, body=body)


def record_error(
    services: Services, *, source: str, reason: str, application: str | None = None, **details: Any
) -> None:
    """Record a trigger source's own failure (a registry that is down, an unusable cron expression)."""
    log.warning("trigger source %s: %s", source, reason)
    with services.db.transaction() as conn:
        events.record(
            conn,
            ts=services.clock.now_ms(),
            type_=events.TRIGGER_ERROR,
            application=application,
            body={"source": source, "reason": reason, **details},
        )


def _trigger_summary(candidate: Candidate, trigger: Mapping[str, Any], source: str) -> Json:
    summary: Json = {
        "source": source,
        "application": _application(candidate.config),
        "pipelineConfigId": candidate.config_id,
        "pipelineName": candidate.config.get("name"),
        "triggerType": trigger.get("type"),
    }
    for key in ("correlationId", "eventId", "branch", "hash", "tag", "cronExpression", "runAsUser"):
        if trigger.get(key) is not None:
            summary[key] = trigger[key]
    return summary


def _application(config: Mapping[str, Any]) -> str | None:
    value = config.get("application")
    return str(value) if value is not None else None
