"""``runJob`` with ``cloudProvider: "local"``: a command run as a process on the worker's host.

Fields: ``command`` (argv list), ``waitForCompletion`` (default true), ``env`` (added to a minimal
environment: PATH, HOME, LANG, plus GENNAKER_EXECUTION_ID/GENNAKER_STAGE_ID/GENNAKER_APPLICATION; the
worker's own environment, which holds its secrets, is not passed), ``workingDir`` (default: a fresh
``work`` directory beside the logs), ``stdin`` (text), ``jobRuntimeLimit`` (seconds, "90s"/"5m"/"2h"
or ISO-8601 "PT1H"; default 2 hours).

The process runs detached from the worker (its own session and process group; see
run_job_wrapper.py), with its output in files under ``<data_dir>/jobs/<executionId>/<stageId>/``,
so a worker restart neither kills nor loses it: the stage context shows the record
(``localJob``) and the monitor reads the exit code from ``result.json``; the directory and the
process group to signal come only from the files the launcher wrote there, never from the
context, polling every second at
first and up to every 10 s. Starting is idempotent: ``operation.json`` names the attempt before the
spawn, and a task re-run after a crash adopts the job it finds instead of starting another.

Exit 0: ``SPINNAKER_PROPERTY_<NAME>=<value>`` and ``SPINNAKER_CONFIG_JSON=<object>`` lines of
stdout become context keys (except keys the stage's own configuration uses) and outputs, and
``propertyFileContents``. Non-zero: TERMINAL with the exit code and the last lines of output in
``exception.details``. Past the runtime limit, or when the stage is canceled or times out, the whole
process group gets SIGTERM, then SIGKILL after 5 s. ``read_logs`` serves the output to the API.

Whether local jobs may run at all, and which commands and working directories, is
``[stages.run_job_local]`` (run_job_policy.py): off by default when authentication is on.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.errors import NotFound
from gennaker.model.execution import Execution, Stage
from gennaker.stages._common import as_bool, attempt_key, duration_ms, failed, new_attempt
from gennaker.stages.run_job_policy import LocalJobPolicy, RunJobLocalSettings, local_job_policy
from gennaker.stages.run_job_process import (
    JobPaths,
    adopt,
    find_command,
    group_alive,
    job_paths,
    kill_group,
    read_json,
    spawn,
    tail,
)
from gennaker.stages.run_job_properties import BadPropertyLine, parse_properties

if TYPE_CHECKING:
    from gennaker.engine.contracts import EngineServices

DEFAULT_RUNTIME_LIMIT_MS = 2 * 3600 * 1000
KILL_GRACE_S = 5.0
#: All a job gets of the server's environment (which holds its secrets); the stage's ``env`` adds.
_KEPT_ENV = ("PATH", "HOME", "LANG")
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_JOB_KEYS = ("localJob", "jobStatus", "completionDetails", "propertyFileContents")


def _environment(run: TaskRun, extra: Mapping[str, Any]) -> dict[str, str]:
    env = {k: os.environ[k] for k in _KEPT_ENV if k in os.environ}
    env.setdefault("PATH", _DEFAULT_PATH)
    env.update(
        GENNAKER_EXECUTION_ID=run.execution.id,
        GENNAKER_STAGE_ID=run.stage.id,
        GENNAKER_APPLICATION=run.execution.application,
    )
    for key, value in extra.items():
        if value is None:
            env.pop(str(key), None)
        else:
            env[str(key)] = _text(value)
    return env


def _text(value: Any) -> str:
    """An argument or variable as text: JSON for booleans, lists and objects, str otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, list, dict)):
        return orjson.dumps(value).decode()
    return str(value)


def _runtime_limit(context: Mapping[str, Any]) -> int:
    return duration_ms(context.get("jobRuntimeLimit")) or DEFAULT_RUNTIME_LIMIT_MS


def recorded_job(data_dir: Path, execution: Execution, stage: Stage) -> tuple[JobPaths, int | None]:
    """The job's directory and the process group its launcher recorded there, or None when no job
    runs (none spawned, or it has ended). Never taken from the stage context: pipeline JSON (and,
    in older versions, a stage PATCH) can write ``localJob``, and a group named there would be
    signalled, or a directory named there read, on that say-so alone."""
    paths = job_paths(data_dir, execution.id, stage.id)
    if read_json(paths.result) is not None:
        return paths, None  # the job ended: its group id may belong to someone else by now
    found = read_json(paths.spawned) or read_json(paths.pid) or {}
    pgid = found.get("pgid")
    if isinstance(pgid, bool) or not isinstance(pgid, int) or pgid <= 1:
        return paths, None
    return paths, pgid


class StartLocalJobTask(BaseTask):
    """Spawns the process (or adopts the one an interrupted run of this task spawned)."""

    pure = False

    def __init__(self, policy: LocalJobPolicy | None = None) -> None:
        self.policy = policy or LocalJobPolicy(RunJobLocalSettings(enabled=True), auth_enabled=False)

    async def execute(self, run: TaskRun) -> TaskResult:
        """Validate, then spawn."""
        ctx = run.context
        command = ctx.get("command")
        if not isinstance(command, list) or not command or any(isinstance(a, (dict, list)) for a in command):
            return failed('command must be a non-empty list of arguments, e.g. ["sh", "-c", "make deploy"]')
        argv = [_text(a) for a in command]
        env_config = ctx.get("env") or {}
        if not isinstance(env_config, Mapping):
            return failed("env must be an object of NAME: value")
        try:
            _runtime_limit(ctx)
        except ValueError as exc:
            return failed(f"jobRuntimeLimit: {exc}")
        paths = job_paths(run.services.settings.data_dir, run.execution.id, run.stage.id)
        operation = attempt_key(run.execution, run.stage)
        record = await asyncio.to_thread(adopt, paths, operation)
        if record is None:
            cwd = ctx.get("workingDir")
            if cwd is not None and not Path(str(cwd)).is_dir():
                return failed(f"workingDir {cwd!r} does not exist on the worker")
            env = _environment(run, env_config)
            workdir = str(cwd) if cwd is not None else str(paths.workspace)
            executable = find_command(argv[0], env["PATH"], workdir)
            if executable is None:
                return failed(f"Command {argv[0]!r} not found (PATH={env['PATH']})")
            # Allow-list names resolve on the server's PATH: a stage's own env PATH must not
            # make its "make" the allowed one.
            server_path = os.environ.get("PATH", _DEFAULT_PATH)
            refusal = self.policy.refusal(executable, server_path, workdir, str(paths.workspace))
            if refusal is not None:
                return failed(refusal)
            stdin = ctx.get("stdin")
            record = await asyncio.to_thread(
                spawn,
                paths,
                operation_id=operation,
                argv=argv,
                env=env,
                cwd=workdir,
                stdin_text=None if stdin is None else str(stdin),
                now_ms=run.now_ms,
            )
        status = {"jobState": "Running", "provider": "local", "startedAt": record["startedAt"]}
        return TaskResult.succeeded({"localJob": record, "jobStatus": status})


class WaitOnLocalJobTask(BaseTask):
    """Waits for the exit code; enforces the runtime limit."""

    pure = False
    overridable_timeout = True  # stageTimeoutMs applies; the runtime limit is enforced below

    async def execute(self, run: TaskRun) -> TaskResult:
        """Look at the files and the process group."""
        job = run.stage.context.get("localJob")
        if not isinstance(job, dict) or not job.get("dir"):
            return failed("There is no local job to wait for (localJob is missing)")
        paths, pgid = await asyncio.to_thread(
            recorded_job, run.services.settings.data_dir, run.execution, run.stage
        )
        result = await asyncio.to_thread(read_json, paths.result)
        if result is None:
            if pgid is not None and await asyncio.to_thread(group_alive, pgid):
                marker = await asyncio.to_thread(read_json, paths.marker) or {}
                elapsed = run.now_ms - int(marker.get("createdAt") or run.task_start_time)
                limit = _runtime_limit(run.context)
                if elapsed > limit:
                    outcome = await kill_group(pgid, KILL_GRACE_S)
                    return self._failed_with_output(
                        paths,
                        f"The job ran longer than its runtime limit of {limit // 1000} s and was stopped ({outcome})",
                    )
                return TaskResult.running(backoff_ms=min(10_000, max(1_000, elapsed // 4)))
            result = await asyncio.to_thread(read_json, paths.result)
            if result is None:
                return self._failed_with_output(
                    paths,
                    "The job's processes ended without recording an exit code "
                    "(killed from outside, or their machine restarted)",
                )
        return await asyncio.to_thread(self._finish, run, paths, result)

    def _finish(self, run: TaskRun, paths: JobPaths, result: dict[str, Any]) -> TaskResult:
        code = int(result.get("exitCode", 1))
        details = {k: result[k] for k in ("exitCode", "signal") if k in result}
        status = {**dict(run.stage.context.get("jobStatus") or {}), **details, "completedAt": run.now_ms}
        context: dict[str, Any] = {"completionDetails": details}
        if result.get("error"):
            context["jobStatus"] = {**status, "jobState": "Failed"}
            return failed(str(result["error"]), context, exitCode=code)
        if code != 0:
            context["jobStatus"] = {**status, "jobState": "Failed"}
            return self._failed_with_output(paths, f"The job exited with code {code}", context, **details)
        context["jobStatus"] = {**status, "jobState": "Succeeded"}
        try:
            with paths.stdout.open(encoding="utf-8", errors="replace") as lines:
                properties = parse_properties(lines)
        except BadPropertyLine as exc:
            return failed(f"The job's output has a bad property line: {exc}", context)
        except OSError:
            properties = {}
        own = run.stage.context
        context.update({k: v for k, v in properties.items() if k not in own or k in _JOB_KEYS})
        context["propertyFileContents"] = properties
        return TaskResult.succeeded(context, {**properties, "propertyFileContents": properties})

    @staticmethod
    def _failed_with_output(
        paths: JobPaths, message: str, context: dict[str, Any] | None = None, **details: Any
    ) -> TaskResult:
        stdout, stderr = tail(paths.stdout), tail(paths.stderr)
        last = [line for line in (stderr or stdout)[-10:] if line.strip()]
        return failed(
            message, context, errors=[message, *last], stdoutTail=stdout, stderrTail=stderr, **details
        )

    async def on_timeout(self, run: TaskRun) -> TaskResult | None:
        """Stop the job, then fail (or let markSuccessfulOnTimeout decide)."""
        _, pgid = await asyncio.to_thread(
            recorded_job, run.services.settings.data_dir, run.execution, run.stage
        )
        outcome = await kill_group(pgid, KILL_GRACE_S) if pgid is not None else "gone"
        if run.context.get("markSuccessfulOnTimeout") is True:
            return None
        message = f"The stage timed out; the job was stopped ({outcome})"
        return failed(message, exception_type="TimeoutException")


class LocalRunJobStage(BaseStage):
    """``runJob`` for ``cloudProvider: "local"`` (reached through the runJob stage)."""

    type = "runJob_local"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Start, then (unless ``waitForCompletion: false``) wait; each attempt gets its own id, so
        a restarted stage runs a new process."""
        new_attempt(stage)
        tasks = [TaskSpec("runJob", "startLocalJobTask")]
        if as_bool(stage.context.get("waitForCompletion"), True):
            tasks.append(TaskSpec("waitOnJobCompletion", "waitOnLocalJobTask"))
        return tasks

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restart runs the command again."""
        for key in _JOB_KEYS:
            stage.context.pop(key, None)

    @property
    def cancellable(self) -> bool:
        """Cancel stops the process group."""
        return True

    async def cancel(
        self, execution: Execution, stage: Stage, services: EngineServices
    ) -> Mapping[str, Any] | None:
        """SIGTERM, then SIGKILL, the job's whole process group."""
        try:
            _, pgid = await asyncio.to_thread(recorded_job, services.settings.data_dir, execution, stage)
        except ValueError:
            return None
        if pgid is None:
            return None
        return {"processGroup": pgid, "outcome": await kill_group(pgid, KILL_GRACE_S)}


def _read_from(path: Path, offset: int, limit: int, ended: bool) -> tuple[str, int, bool]:
    """(text from ``offset``, the next offset, whether that is the end of the file)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(min(max(0, offset), size))
            data = handle.read(limit)
            position = handle.tell()
    except OSError:
        return "", offset, True
    try:
        return data.decode("utf-8"), position, position >= size
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and not (ended and position >= size):
            position -= len(data) - exc.start  # the rest of the character comes with the next read
            data = data[: exc.start]
        return data.decode("utf-8", errors="replace"), position, position >= size


def read_logs(
    services: EngineServices,
    execution_id: str,
    stage_id: str,
    offset: int = 0,
    *,
    stderr_offset: int = 0,
    limit: int = 1_000_000,
) -> dict[str, Any]:
    """A local job's output from byte ``offset`` of stdout (``stderr_offset`` of stderr).

    Returns ``{stdout, stderr, offset, stderrOffset, state, exitCode, complete}``: the text read
    (at most ``limit`` bytes of each), the offsets to pass next time, the job's state ("Running",
    "Succeeded", "Failed"), its exit code (None while running) and whether everything has been
    read from a job that has ended. NotFound when the stage has no local job."""
    try:
        paths = job_paths(services.settings.data_dir, execution_id, stage_id)
    except ValueError:
        raise NotFound(f"execution {execution_id} has no stage {stage_id}") from None
    if not paths.marker.exists():
        raise NotFound(f"stage {stage_id} of execution {execution_id} has no local job output")
    result = read_json(paths.result)
    found = read_json(paths.spawned) or read_json(paths.pid) or {}
    pgid = found.get("pgid")
    running = result is None and isinstance(pgid, int) and group_alive(pgid)
    stdout, next_out, out_done = _read_from(paths.stdout, offset, limit, not running)
    stderr, next_err, err_done = _read_from(paths.stderr, stderr_offset, limit, not running)
    exit_code = result.get("exitCode") if result else None
    if running:
        state = "Running"
    elif result is not None and exit_code == 0 and not result.get("error"):
        state = "Succeeded"
    else:
        state = "Failed"
    return {
        "stdout": stdout,
        "stderr": stderr,
        "offset": next_out,
        "stderrOffset": next_err,
        "state": state,
        "exitCode": exit_code,
        "complete": not running and out_done and err_done,
    }


def register(registry: Registry, settings: Any) -> None:
    """Add the local runJob flavour."""
    registry.add_task("startLocalJobTask", StartLocalJobTask(local_job_policy(settings)))
    registry.add_task("waitOnLocalJobTask", WaitOnLocalJobTask())
    registry.add_stage(LocalRunJobStage())
