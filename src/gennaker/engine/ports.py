"""What the engine asks of the engine-level collaborators that the composition root wires together.

The engine and the stages depend on these protocols, never on ``gennaker.services``: the composition
root (``Services``) sits above everything it wires, and the import graph stays acyclic. Each
protocol names only what the engine and the stages call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gennaker.model.execution import Execution, Stage

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gennaker import expressions as ex


class Evaluator(Protocol):
    """Evaluates ``${...}`` for the engine and the stages (``engine.evaluation.StageEvaluator``)."""

    def context(
        self,
        execution: Execution,
        stage: Stage | None,
        root_context: Mapping[str, Any] | None = None,
        *,
        extra_root: Mapping[str, Any] | None = None,
    ) -> ex.EvaluationContext:
        """The evaluation context of a stage (or of the execution alone)."""
        ...

    def evaluate_stage_context(self, execution: Execution, stage: Stage) -> None:
        """Evaluate the stage's context in place."""
        ...

    def task_context(self, execution: Execution, stage: Stage) -> Mapping[str, Any]:
        """The evaluated context a task sees."""
        ...

    def stage_enabled(self, execution: Execution, stage: Stage, expression: Any) -> bool:
        """Whether a ``stageEnabled`` expression lets the stage run."""
        ...

    def evaluate_condition(self, execution: Execution, stage: Stage, text: Any) -> Any:
        """The value of a condition expression."""
        ...

    def condition_result(self, execution: Execution, stage: Stage, text: Any) -> ex.EvaluationResult:
        """A condition's value with its evaluation summary."""
        ...

    def evaluate_variables(
        self, execution: Execution, stage: Stage, variables: Sequence[Mapping[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Evaluate an evaluateVariables stage's variables (values, summary)."""
        ...

    def evaluate_text(self, execution: Execution, stage: Stage | None, text: str) -> ex.EvaluationResult:
        """Evaluate one text with its expressions."""
        ...

    def evaluate_pipeline_config(self, config: dict[str, Any], trigger: Mapping[str, Any]) -> dict[str, Any]:
        """Evaluate a pipeline config at start (trigger and template variables in scope)."""
        ...

    def evaluate_trigger(self, trigger: dict[str, Any]) -> dict[str, Any]:
        """The trigger evaluated against itself at start (Orca's DependentPipelineStarter)."""
        ...

    def evaluate_with_trigger(self, value: Any, trigger: Mapping[str, Any]) -> Any:
        """A JSON value evaluated in the pipeline-start scope of ``trigger``."""
        ...

    def evaluate_variable_list(
        self, execution: Execution, stage: Stage, variables: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Any], dict[str, Any]]:
        """evaluateVariables' variables as the stage evaluates them (sourceValue kept under v4)."""
        ...


class PipelineStarter(Protocol):
    """Builds and queues executions (``engine.launcher.Launcher``)."""

    def start_pipeline(
        self,
        config: Mapping[str, Any],
        trigger: Mapping[str, Any] | None = None,
        *,
        user: str | None = None,
        origin: str = "api",
        execution_id: str | None = None,
    ) -> Execution:
        """Validate, build and queue a PIPELINE execution."""
        ...

    def prepare_pipeline(
        self,
        conn: Connection | None,
        config: Mapping[str, Any],
        trigger: Mapping[str, Any] | None = None,
        *,
        user: str | None = None,
        origin: str = "api",
        execution_id: str | None = None,
    ) -> Execution:
        """Build (not store) the execution for a pipeline config and trigger."""
        ...

    def start_orchestration(
        self,
        application: str,
        description: str,
        jobs: Sequence[Mapping[str, Any]],
        *,
        user: str | None = None,
        origin: str = "api",
    ) -> Execution:
        """Queue an ad-hoc ORCHESTRATION."""
        ...

    def enqueue(self, conn: Connection, execution: Execution) -> None:
        """Store a built execution and queue its start."""
        ...


class ExecutionControl(Protocol):
    """Operator actions on executions (``engine.operations.Operations``)."""

    def cancel(self, execution_id: str, *, user: str | None = None, reason: str | None = None) -> Execution:
        """Cancel a running execution."""
        ...

    def pause(self, execution_id: str, *, user: str | None = None) -> Execution:
        """Pause a running execution."""
        ...

    def resume(self, execution_id: str, *, user: str | None = None) -> Execution:
        """Resume a paused execution."""
        ...

    def restart_stage(self, execution_id: str, stage_id: str, *, user: str | None = None) -> Execution:
        """Restart a top-level stage."""
        ...

    def patch_stage(
        self, execution_id: str, stage_id: str, patch: Mapping[str, Any], *, user: str | None = None
    ) -> Execution:
        """Apply an operator's patch to a stage (judgment, skip wait)."""
        ...

    def delete(self, execution_id: str) -> None:
        """Delete a finished execution."""
        ...


@dataclass(frozen=True)
class PolicyDecision:
    """What the policies say of a start or a stage: messages that refuse it, and warnings."""

    denied: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass
class PolicyQuestion:
    """A start or a stage that a policy server must decide before it goes on. The handler that
    returns one writes nothing; the question is asked with no transaction open, and the handler
    runs again with the answer (``engine.policy_questions``)."""

    scope: str  # start | stage
    #: The handler's copy of the execution, changed by nobody else while the question is asked.
    execution: Execution
    stage: Stage | None = None


class PolicyGate(Protocol):
    """Policies the engine checks before an execution or a stage starts (``gennaker.policies``).

    Rules decided in process (CEL) are checked inside the handler's transaction; rules decided by a
    policy server (OPA) are asked outside it (``ask_*``) and their decision handed to ``check_*``."""

    def asks_remotely(self, scope: str) -> bool:
        """Whether a rule of the scope is decided by a policy server (a network call)."""
        ...

    def check_start(self, execution: Execution, remote: PolicyDecision | None = None) -> PolicyDecision:
        """The decision for an execution about to start: the in-process rules plus ``remote``."""
        ...

    def check_stage(
        self, execution: Execution, stage: Stage, remote: PolicyDecision | None = None
    ) -> PolicyDecision:
        """The decision for a stage about to start (its context already evaluated): the in-process
        rules plus ``remote``."""
        ...

    def ask_start(self, execution: Execution) -> PolicyDecision:
        """The policy server's decision for an execution about to start (network I/O)."""
        ...

    def ask_stage(self, execution: Execution, stage: Stage) -> PolicyDecision:
        """The policy server's decision for a stage about to start (network I/O)."""
        ...


class AccessControl(Protocol):
    """Authorization as the engine and the stages need it (``gennaker.authz.service.Authorization``)."""

    def allowed_accounts(self, user: str | None) -> list[str]:
        """Accounts the user may WRITE (an execution's ``authentication.allowedAccounts``)."""
        ...

    def account_refusal(self, authentication: Mapping[str, Any], account: str) -> str | None:
        """Why the execution's user or service account may not WRITE ``account``; None when it may."""
        ...
