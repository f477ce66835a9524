"""``git`` triggers (Echo's GitEventHandler): ``POST /webhooks/git/{github|gitlab|bitbucket}``.

A trigger matches an event when ``source``, ``project`` and ``slug`` equal the event's (ignoring
case), ``branch`` is empty or a regex that matches the whole branch name (``refs/heads/``
stripped), and ``events`` is empty or names the event's action (``push``; for GitHub pull
requests the action as GitHub sends it, ``opened``, ``synchronize``, ``closed`` ..., also written
``pull_request:opened``, or ``pull_request`` for any of them).

A trigger for the delivery's repository (same source, project and slug) with a ``secret`` needs
the service's signature of the raw body, checked before anything else about the trigger (the
branch regex, the event names): when any such signature check fails, the delivery is refused
(401 without a signature, 403 with a wrong one) and starts nothing. Branch regexes are Java
regexes run under the expression language's backtracking guard (``gennaker.triggers.patterns``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gennaker.triggers import common
from gennaker.triggers.git_payloads import GitEvent, NotAGitEvent, parse, signature_problem
from gennaker.triggers.patterns import PatternRefused, matches
from gennaker.triggers.webhook import Delivery, Outcome

if TYPE_CHECKING:
    from gennaker.services import Services


class SignatureRejected(Exception):
    """A matching trigger's secret does not verify the delivery; ``status`` is 401 or 403."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def mismatch(trigger: Mapping[str, Any], event: GitEvent) -> str | None:
    """Why ``trigger`` does not match ``event`` (None when it does)."""
    return repository_mismatch(trigger, event) or event_mismatch(trigger, event)


def repository_mismatch(trigger: Mapping[str, Any], event: GitEvent) -> str | None:
    """Why ``trigger`` is not for the event's repository (None when it is)."""
    if str(trigger.get("source") or "").lower() != event.source.lower():
        return "source differs"
    projects = {event.project.lower(), *(a.lower() for a in event.project_aliases if a)}
    if str(trigger.get("project") or "").lower() not in projects:
        return "project differs"
    if str(trigger.get("slug") or "").lower() != event.slug.lower():
        return "slug differs"
    return None


def event_mismatch(trigger: Mapping[str, Any], event: GitEvent) -> str | None:
    """Why a trigger for the event's repository does not take this event (None when it does)."""
    pattern = str(trigger.get("branch") or "").strip()
    if pattern:
        try:
            if not matches(pattern, event.branch, whole=True):
                return f"branch {event.branch!r} does not match {pattern!r}"
        except PatternRefused as exc:
            return f"branch pattern not checked: {exc}"
    wanted = trigger.get("events")
    if isinstance(wanted, list) and wanted:
        names = {event.action}
        if event.properties.get("number") is not None:
            names |= {"pull_request", f"pull_request:{event.action}"}
        if not names & {str(w) for w in wanted}:
            return f"event {event.action!r} is not one of {wanted}"
    return None


def handle(services: Services, delivery: Delivery) -> Outcome:
    """Start every pipeline whose git trigger matches; SignatureRejected when a secret fails."""
    outcome = Outcome(delivery.event_id)
    source = delivery.source.lower()
    try:
        event = parse(source, delivery.headers, delivery.body)
    except NotAGitEvent:
        return outcome
    # Signatures first: nothing else about a trigger is worked out for an unauthenticated sender.
    for_repository = [
        c
        for c in common.load_candidates(services, "git")
        if str(c.trigger.get("source") or "").lower() == source
        and repository_mismatch(c.trigger, event) is None
    ]
    label = f"git:{source}"
    for candidate in for_repository:
        secret = candidate.trigger.get("secret")
        if not secret:
            continue
        problem = signature_problem(source, str(secret), delivery.headers, delivery.raw)
        if problem is not None:
            for other in for_repository:
                common.reject(
                    services, other, {**event.trigger_fields(), "type": "git"}, source=label,
                    reason=f"signature check failed: {problem[1]}",
                )  # fmt: skip
            raise SignatureRejected(*problem)
    matched = [c for c in for_repository if event_mismatch(c.trigger, event) is None]
    for candidate in matched:
        unmatched = common.artifacts_problem(candidate.config, candidate.trigger, list(event.artifacts))
        if unmatched is not None:
            common.reject(
                services, candidate, {**event.trigger_fields(), "type": "git"}, source=label, reason=unmatched
            )
            continue
        trigger = common.build_trigger(
            candidate,
            {
                **event.trigger_fields(),
                "eventId": delivery.event_id,
                "correlationId": common.correlation(
                    "git", source, delivery.event_id, candidate.config_id, candidate.trigger_key
                ),
            },
        )
        outcome.results.append(common.start(services, candidate, trigger, source=label))
    return outcome
