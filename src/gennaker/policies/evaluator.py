"""The policy engine: the configured rules, each evaluated by its engine, giving one decision per
save, start or stage. A rule that cannot be evaluated (a CEL error, OPA failing under
``failure_mode = "deny"``) refuses, and its message says why."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from gennaker.clock import Clock
from gennaker.engine.ports import PolicyDecision
from gennaker.model.execution import Execution, Stage
from gennaker.policies import inputs
from gennaker.policies.cel import CelRule
from gennaker.policies.opa import OpaFailure, decide
from gennaker.policies.settings import PolicyRule, PolicySettings, Scope
from gennaker.policies.stored import StoredPolicies

Json = dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    """One rule's word on one input."""

    policy: str
    effect: str
    outcome: str  # allow | deny | warn
    message: str | None = None

    def to_json(self) -> Json:
        """As the API reports it."""
        return {
            "policy": self.policy,
            "effect": self.effect,
            "outcome": self.outcome,
            "message": self.message,
        }


class PolicyEngine:
    """Evaluates the configured policies."""

    def __init__(self, settings: PolicySettings, clock: Clock, stored: StoredPolicies | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.stored = stored
        self._cel = {
            (r.name, r.rule): CelRule(r.name, r.rule) for r in settings.rules if r.engine == "cel" and r.rule
        }

    def rules(self, scope: Scope | None = None) -> list[PolicyRule]:
        """The rules of one scope (all when None): the configured ones, then those kept in git."""
        every = [*self.settings.rules, *(self.stored.rules() if self.stored is not None else [])]
        return [r for r in every if scope is None or scope in r.scopes]

    def _compiled(self, rule: PolicyRule) -> CelRule:
        key = (rule.name, str(rule.rule))
        if key not in self._cel:
            self._cel[key] = CelRule(rule.name, str(rule.rule))
        return self._cel[key]

    def _one(self, rule: PolicyRule, document: Mapping[str, Any], client: httpx.Client | None) -> Verdict:
        failed = "deny" if rule.effect == "deny" else "warn"
        if rule.engine == "cel":
            holds, problem = self._compiled(rule).holds(document, self.clock.now_ms())
            if holds is None:
                return Verdict(
                    rule.name,
                    rule.effect,
                    failed,
                    f"{rule.message} (the rule could not be evaluated: {problem})",
                )
            return Verdict(
                rule.name, rule.effect, "allow" if holds else failed, None if holds else rule.message
            )
        if client is None or self.settings.opa.url is None:
            # Only a policy kept in git can get here: gennaker.toml's are checked at start.
            return Verdict(rule.name, rule.effect, failed, f"{rule.message} ([policies.opa] url is not set)")
        try:
            allowed, reasons = decide(client, self.settings.opa.url, str(rule.path), document)
        except OpaFailure as exc:
            if self.settings.opa.failure_mode == "allow":
                return Verdict(rule.name, rule.effect, "allow", f"not checked: {exc}")
            return Verdict(rule.name, rule.effect, failed, f"{rule.message} ({exc})")
        if allowed:
            return Verdict(rule.name, rule.effect, "allow")
        return Verdict(rule.name, rule.effect, failed, "; ".join([rule.message, *reasons]))

    def evaluate(
        self, scope: Scope, document: Mapping[str, Any], rules: list[PolicyRule] | None = None
    ) -> list[Verdict]:
        """Every rule of the scope (or the ``rules`` given) on ``document`` (the dry run's answer)."""
        rules = self.rules(scope) if rules is None else rules
        if not rules:
            return []
        needs_opa = any(r.engine == "opa" for r in rules)
        client = (
            httpx.Client(timeout=self.settings.opa.timeout_seconds, trust_env=False) if needs_opa else None
        )
        try:
            return [self._one(rule, document, client) for rule in rules]
        finally:
            if client is not None:
                client.close()

    def _decision(self, scope: Scope, document: Mapping[str, Any], rules: list[PolicyRule]) -> PolicyDecision:
        verdicts = self.evaluate(scope, document, rules)
        return PolicyDecision(
            denied=tuple(f"{v.policy}: {v.message}" for v in verdicts if v.outcome == "deny"),
            warnings=tuple(f"{v.policy}: {v.message}" for v in verdicts if v.outcome == "warn"),
        )

    def check_save(self, config: Mapping[str, Any], *, kind: str, user: str | None) -> PolicyDecision:
        """The decision for a pipeline config (``kind`` pipeline) or template being saved."""
        # Rules are read once per check (policies kept in git cost a query to read).
        rules = self.rules("save")
        if not rules:
            return PolicyDecision()
        return self._decision("save", inputs.save_input(config, kind=kind, user=user), rules)

    # -- the engine's gate (engine.ports.PolicyGate) ------------------------------------------------

    def asks_remotely(self, scope: str) -> bool:
        """Whether an OPA rule applies to the scope (asked outside the engine's transactions)."""
        return any(r.engine == "opa" for r in self.rules(_scope(scope)))

    def _local(self, scope: Scope) -> list[PolicyRule]:
        return [r for r in self.rules(scope) if r.engine != "opa"]

    def _remote(self, scope: Scope) -> list[PolicyRule]:
        return [r for r in self.rules(scope) if r.engine == "opa"]

    def _merged(
        self,
        scope: Scope,
        document: Callable[[], Mapping[str, Any]],
        rules: list[PolicyRule],
        remote: PolicyDecision | None,
    ) -> PolicyDecision:
        local = self._decision(scope, document(), rules) if rules else PolicyDecision()
        if remote is None:
            return local
        return PolicyDecision(
            denied=(*local.denied, *remote.denied), warnings=(*local.warnings, *remote.warnings)
        )

    def check_start(self, execution: Execution, remote: PolicyDecision | None = None) -> PolicyDecision:
        """The in-process rules' decision for an execution about to start, plus OPA's ``remote``."""
        # Rules are read once per check (policies kept in git cost a query to read).
        rules = self._local("start")
        return self._merged("start", lambda: inputs.start_input(execution), rules, remote)

    def check_stage(
        self, execution: Execution, stage: Stage, remote: PolicyDecision | None = None
    ) -> PolicyDecision:
        """The in-process rules' decision for a stage about to start, plus OPA's ``remote``."""
        rules = self._local("stage")
        return self._merged("stage", lambda: inputs.stage_input(execution, stage), rules, remote)

    def ask_start(self, execution: Execution) -> PolicyDecision:
        """OPA's decision for an execution about to start (called with no transaction open)."""
        rules = self._remote("start")
        if not rules:
            return PolicyDecision()
        return self._decision("start", inputs.start_input(execution), rules)

    def ask_stage(self, execution: Execution, stage: Stage) -> PolicyDecision:
        """OPA's decision for a stage about to start (called with no transaction open)."""
        rules = self._remote("stage")
        if not rules:
            return PolicyDecision()
        return self._decision("stage", inputs.stage_input(execution, stage), rules)


def _scope(scope: str) -> Scope:
    if scope == "start":
        return "start"
    if scope == "stage":
        return "stage"
    return "save"


def describe(rules: Sequence[PolicyRule]) -> list[Json]:
    """The rules as ``GET /policies`` lists them."""
    return [
        {
            "name": r.name,
            "effect": r.effect,
            "scopes": list(r.scopes),
            "engine": r.engine,
            "rule": r.rule,
            "path": r.path,
            "message": r.message,
            "description": r.description,
        }
        for r in rules
    ]
