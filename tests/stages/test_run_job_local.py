"""``runJob`` with ``cloudProvider: "local"``: real processes, detached from the worker."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gennaker.engine.contracts import TaskRun
from gennaker.errors import NotFound
from gennaker.model.status import ExecutionStatus as S
from gennaker.stages.run_job_local import StartLocalJobTask, read_logs
from gennaker.stages.run_job_process import group_alive
from tests.stages.conftest import Harness

PY = sys.executable


def job(ref: str = "1", *requisites: str, **context: Any) -> dict[str, Any]:
    return {
        "refId": ref,
        "requisiteStageRefIds": list(requisites),
        "type": "runJob",
        "cloudProvider": "local",
        "name": f"job {ref}",
        **context,
    }


def py(code: str) -> list[str]:
    return [PY, "-c", code]


def gone(pgid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_properties_feed_a_downstream_stage(harness: Harness) -> None:
    code = (
        "import sys\n"
        "print('building...')\n"
        "print('SPINNAKER_PROPERTY_IMAGE=app:v9')\n"
        'print(\'  SPINNAKER_CONFIG_JSON={"replicas": 3, "image": "app:v10"}\')\n'
        "print('echo SPINNAKER_PROPERTY_IGNORED=1')\n"
        "print('oops', file=sys.stderr)\n"
    )
    execution = harness.start(
        [
            job("1", command=py(code)),
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "scripted",
                "readKeys": ["image", "replicas"],
                "outputs": {"tag": "${image}-x${replicas}"},
            },
        ]
    )
    done = harness.run_until_complete(execution.id)
    assert done.status == S.SUCCEEDED
    stage = done.stage_by_ref_id("1")
    assert stage is not None
    expected = {"image": "app:v10", "replicas": 3}
    assert stage.context["propertyFileContents"] == expected
    assert stage.outputs == {**expected, "propertyFileContents": expected}
    assert stage.context["image"] == "app:v10"
    assert stage.context["jobStatus"]["jobState"] == "Succeeded"
    assert stage.context["completionDetails"] == {"exitCode": 0}
    assert [t.name for t in stage.tasks] == ["runJob", "waitOnJobCompletion"]
    downstream = done.stage_by_ref_id("2")
    assert downstream is not None and downstream.context["seen"] == expected
    assert downstream.outputs == {"tag": "app:v10-x3"}
    logs = read_logs(harness.services, execution.id, stage.id, 0)
    assert logs["stdout"].startswith("building...\n") and logs["stderr"] == "oops\n"
    assert logs["state"] == "Succeeded" and logs["exitCode"] == 0 and logs["complete"] is True


def test_env_stdin_and_working_dir(harness: Harness, tmp_path: Path) -> None:
    code = "import os,sys; print('SPINNAKER_PROPERTY_OUT=' + os.environ['GREETING'] + sys.stdin.read().strip() + os.getcwd())"
    execution = harness.start(
        [job(command=py(code), env={"GREETING": "hi-"}, stdin="there\n", workingDir=str(tmp_path))]
    )
    done = harness.run_until_complete(execution.id)
    assert done.status == S.SUCCEEDED
    assert done.stages[0].outputs["out"] == f"hi-there{tmp_path}"


def test_worker_environment_is_not_passed(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_SECRET_FOR_TEST", "s3cret")
    code = "import os; print('SPINNAKER_PROPERTY_SEEN=' + os.environ.get('GENNAKER_SECRET_FOR_TEST', 'none') + ',' + os.environ['GENNAKER_STAGE_ID'])"
    execution = harness.start([job(command=py(code))])
    done = harness.run_until_complete(execution.id)
    assert done.stages[0].outputs["seen"] == f"none,{done.stages[0].id}"


def test_non_zero_exit_fails_with_code_and_last_lines(harness: Harness) -> None:
    code = "import sys; print('step 1'); print('disk full', file=sys.stderr); sys.exit(3)"
    execution = harness.start([job(command=py(code))])
    done = harness.run_until_complete(execution.id)
    stage = done.stages[0]
    assert stage.status == S.TERMINAL
    details = stage.context["exception"]["details"]
    assert details["errors"] == ["The job exited with code 3", "disk full"]
    assert details["exitCode"] == 3
    assert details["stdoutTail"] == ["step 1"] and details["stderrTail"] == ["disk full"]
    assert stage.context["jobStatus"]["jobState"] == "Failed"


def test_missing_command_says_so(harness: Harness) -> None:
    execution = harness.start([job(command=["no-such-command-xyz", "--help"])])
    done = harness.run_until_complete(execution.id)
    errors = done.stages[0].context["exception"]["details"]["errors"]
    assert errors[0].startswith("Command 'no-such-command-xyz' not found (PATH=")


def test_invalid_command_and_provider(harness: Harness) -> None:
    text = harness.start([job(command="make deploy")], id="a")
    other = harness.start([job(cloudProvider="kubernetes", command=["true"])], id="b")
    harness.run()
    assert harness.get(text.id).stages[0].context["exception"]["details"]["errors"] == [
        'command must be a non-empty list of arguments, e.g. ["sh", "-c", "make deploy"]'
    ]
    assert harness.get(other.id).stages[0].context["exception"]["details"]["errors"] == [
        "runJob with cloudProvider 'kubernetes' is not available here (available: local)"
    ]


def test_runtime_limit_stops_the_job(harness: Harness) -> None:
    execution = harness.start([job(command=["sleep", "30"], jobRuntimeLimit="3s")])
    done = harness.run_until_complete(execution.id)
    stage = done.stages[0]
    assert stage.status == S.TERMINAL
    assert stage.context["exception"]["details"]["error"].startswith(
        "The job ran longer than its runtime limit of 3 s and was stopped"
    )
    assert gone(stage.context["localJob"]["pgid"])


def test_cancel_kills_the_whole_process_group(harness: Harness) -> None:
    script = "sleep 60 & sleep 61 & echo started; wait"
    execution = harness.start([job(command=["sh", "-c", script])])
    harness.run_until(lambda: "started" in _stdout(harness, execution.id))
    pgid = harness.stage(execution.id, "1").context["localJob"]["pgid"]
    assert group_alive(pgid)
    harness.services.operations.cancel(execution.id, user="ops")
    harness.run(advance_clock=False)
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.CANCELED
    assert stage.context["cancelResults"]["outcome"] in ("terminated", "killed")
    assert gone(pgid)


def _stdout(harness: Harness, execution_id: str) -> str:
    stage = harness.stage(execution_id, "1")
    if "localJob" not in stage.context:
        return ""
    return Path(stage.context["localJob"]["stdout"]).read_text()


def test_job_survives_a_worker_restart(make_harness: Any, tmp_path: Path) -> None:
    """Start the job with one Services, throw it away, and finish it with new Services."""
    first = make_harness()
    gate = tmp_path / "go"
    code = (
        "import os, time\n"
        f"while not os.path.exists({str(gate)!r}): time.sleep(0.02)\n"
        "print('SPINNAKER_PROPERTY_DONE=yes')\n"
    )
    execution = first.start([job(command=py(code))])
    first.run_until(lambda: first.stage(execution.id, "1").tasks[-1].status == S.RUNNING)
    pgid = first.stage(execution.id, "1").context["localJob"]["pgid"]
    first.services.close()
    assert group_alive(pgid)
    second = make_harness()
    second.clock.set(first.clock.now_ms())
    gate.write_text("")
    done = second.run_until_complete(execution.id)
    assert done.status == S.SUCCEEDED
    assert done.stages[0].outputs["done"] == "yes"


def test_start_is_idempotent_after_a_crash(harness: Harness, tmp_path: Path) -> None:
    """The task runs again after spawning but before its result was recorded: no second process."""
    counter = tmp_path / "count"
    execution = harness.start(
        [job(command=["sh", "-c", f"echo x >> {counter}; sleep 0.3"], waitForCompletion=True)]
    )
    harness.run(advance_clock=False)
    stored = harness.get(execution.id)
    stage = stored.stages[0]
    run = TaskRun(stored, stage, stage.context, "1", stage.start_time or 0, harness.services)
    first = asyncio.run(StartLocalJobTask().execute(run))
    stage.context.pop("localJob")  # as if the first run's result had been lost
    again = asyncio.run(StartLocalJobTask().execute(run))
    assert again.context["localJob"] == first.context["localJob"]
    assert gone(first.context["localJob"]["pgid"])
    assert counter.read_text() == "x\n"


def test_read_logs_pages_through_the_output(harness: Harness) -> None:
    code = "print('é' * 5); print('SPINNAKER_PROPERTY_X=1')"
    execution = harness.start([job(command=py(code))])
    done = harness.run_until_complete(execution.id)
    stage_id = done.stages[0].id
    first = read_logs(harness.services, execution.id, stage_id, 0, limit=5)
    assert first["stdout"] == "éé" and first["offset"] == 4 and first["complete"] is False
    rest = read_logs(harness.services, execution.id, stage_id, first["offset"])
    assert first["stdout"] + rest["stdout"] == "ééééé\nSPINNAKER_PROPERTY_X=1\n"
    assert rest["complete"] is True and rest["stderrOffset"] == 0
    with pytest.raises(NotFound):
        read_logs(harness.services, execution.id, "nope", 0)
    with pytest.raises(NotFound):
        read_logs(harness.services, "../..", stage_id, 0)


def test_bad_config_json_line_fails_the_stage(harness: Harness) -> None:
    execution = harness.start([job(command=py("print('SPINNAKER_CONFIG_JSON={bad')"))])
    done = harness.run_until_complete(execution.id)
    assert (
        done.stages[0]
        .context["exception"]["details"]["error"]
        .startswith(
            "The job's output has a bad property line: line 1: SPINNAKER_CONFIG_JSON is not valid JSON"
        )
    )


def test_restart_runs_the_job_again(harness: Harness, tmp_path: Path) -> None:
    flag = tmp_path / "ok"
    code = f"import os, sys; sys.exit(0 if os.path.exists({str(flag)!r}) else 5)"
    execution = harness.start([job(command=py(code))])
    assert harness.run_until_complete(execution.id).status == S.TERMINAL
    flag.write_text("")
    harness.services.operations.restart_stage(execution.id, harness.stage(execution.id, "1").id)
    done = harness.run_until_complete(execution.id)
    assert done.status == S.SUCCEEDED
    assert os.path.exists(done.stages[0].context["localJob"]["dir"])


def test_command_uses_expressions(harness: Harness) -> None:
    execution = harness.start(
        [job(command=["sh", "-c", "echo SPINNAKER_PROPERTY_GOT=${trigger.parameters.word}"])],
        parameterConfig=[{"name": "word", "default": "hello"}],
    )
    done = harness.run_until_complete(execution.id)
    assert done.stages[0].outputs["got"] == "hello"


def test_without_waiting_the_stage_ends_when_the_job_starts(harness: Harness, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    execution = harness.start(
        [job(command=["sh", "-c", f"sleep 0.2; touch {marker}"], waitForCompletion=False)]
    )
    harness.run(advance_clock=False)
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.SUCCEEDED and [t.name for t in stage.tasks] == ["runJob"]
    assert gone(stage.context["localJob"]["pgid"]) and marker.exists()
