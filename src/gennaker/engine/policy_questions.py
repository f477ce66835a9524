"""Policies decided by a policy server (OPA), asked between two transactions.

StartExecution and StartStage check their in-process rules inside the handler's transaction. When
a rule of their scope is decided over the network, the handler first returns a PolicyQuestion and
writes nothing; the processor asks it with no transaction open (the lease kept alive meanwhile),
then runs the handler again in a new transaction with the answer, where the handler re-checks
everything it checked before and applies the decision only if the start or stage is still due.
A crash anywhere in between leaves the message to be delivered again and the question asked again:
a policy query changes nothing, so asking twice is harmless. Where no rule needs a policy server,
none of this happens (the handlers run in one transaction, inline or not, like every other)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gennaker.engine import messages as m
from gennaker.engine.handlers import start_execution, start_stage
from gennaker.engine.ports import PolicyDecision, PolicyQuestion
from gennaker.engine.runtime import HandlerContext

if TYPE_CHECKING:
    from gennaker.engine.contracts import EngineServices

Decide = Callable[[HandlerContext, Any, PolicyDecision | None], PolicyQuestion | None]

#: The message kinds whose handlers may need a policy server's answer, by kind.
DECIDERS: dict[str, Decide] = {
    m.StartExecution.kind: start_execution.decide,
    m.StartStage.kind: start_stage.decide,
}
#: The policy scope each of those kinds is checked in.
SCOPES: dict[str, str] = {m.StartExecution.kind: "start", m.StartStage.kind: "stage"}


def asks(services: EngineServices, kind: str) -> bool:
    """Whether a message of ``kind`` may need a policy server's answer now (False for every kind
    when no OPA policy applies: the handler then runs in one transaction, as any other)."""
    scope = SCOPES.get(kind)
    return scope is not None and services.policies.asks_remotely(scope)


def ask(services: EngineServices, question: PolicyQuestion, now_ms: int) -> PolicyDecision:
    """The policy server's decision (network I/O: call with no transaction open)."""
    if question.scope == "start":
        return services.policies.ask_start(question.execution)
    assert question.stage is not None
    # The stage as StartStage will start it, context evaluated, on a copy of the handler's execution
    # (the handler's copy is read again in the transaction that applies the answer).
    execution = copy.deepcopy(question.execution)
    stage = execution.stage(question.stage.id)
    assert stage is not None
    start_stage.prepare_start(services, execution, stage, now_ms)
    return services.policies.ask_stage(execution, stage)
