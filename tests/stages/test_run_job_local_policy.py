"""What a local run job may do (issue #10, item 8): ``[stages.run_job_local]`` switches local jobs
off (the default with authentication on) or limits their commands and working directories, and
a job gets only PATH, HOME and LANG of the server's environment plus what the stage sets. Real
processes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gennaker.model.status import ExecutionStatus as S
from tests.stages.conftest import Harness

PY = sys.executable


def job(**context: Any) -> dict[str, Any]:
    return {"refId": "1", "type": "runJob", "cloudProvider": "local", "name": "job", **context}


def errors(harness: Harness, execution_id: str) -> list[str]:
    stage = harness.stage(execution_id, "1")
    assert stage.status == S.TERMINAL, stage.status
    found: list[str] = stage.context["exception"]["details"]["errors"]
    return found


def test_the_job_gets_only_path_home_lang_and_what_the_stage_sets(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 8: the server's LC_*, TZ, TMPDIR, USER, LOGNAME (and anything else) stay out."""
    for name in ("LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME", "SMTP_PASSWORD"):
        monkeypatch.setenv(name, f"server-{name.lower()}")
    monkeypatch.setenv("LANG", "C.UTF-8")
    code = "import json, os; print('SPINNAKER_CONFIG_JSON=' + json.dumps({'env': dict(os.environ)}))"
    execution = harness.start([job(command=[PY, "-c", code], env={"DEPLOY_TARGET": "staging"})])
    done = harness.run_until_complete(execution.id)
    assert done.status == S.SUCCEEDED
    seen = set(done.stages[0].outputs["env"])
    allowed = {"PATH", "HOME", "LANG", "DEPLOY_TARGET", "GENNAKER_EXECUTION_ID", "GENNAKER_STAGE_ID"}
    allowed |= {"GENNAKER_APPLICATION", "PWD", "LC_CTYPE"}  # PWD/LC_CTYPE: set by the interpreter
    assert seen <= allowed, seen - allowed
    assert {"PATH", "LANG", "DEPLOY_TARGET"} <= seen
    assert done.stages[0].outputs["env"]["DEPLOY_TARGET"] == "staging"


@pytest.mark.parametrize(
    "settings",
    [{"stages__run_job_local__enabled": False}, {"auth__enabled": True}],
    ids=["disabled", "default-with-authentication"],
)
def test_local_jobs_can_be_switched_off(
    make_harness: Callable[..., Harness], tmp_path: Path, settings: dict[str, Any]
) -> None:
    """Item 8: off, nothing runs (with authentication on, off is the default)."""
    harness = make_harness(**settings)
    marker = tmp_path / "ran"
    execution = harness.start([job(command=["touch", str(marker)])])
    harness.run()
    assert errors(harness, execution.id)[0].startswith("Local run jobs are disabled on this server")
    assert not marker.exists()


def test_allowed_commands_limit_what_runs(make_harness: Callable[..., Harness], tmp_path: Path) -> None:
    """Item 8: only listed executables; a stage's own PATH cannot smuggle in a look-alike."""
    harness = make_harness(stages__run_job_local__allowed_commands=["true"])
    fake = tmp_path / "bin"
    fake.mkdir()
    impostor = fake / "true"
    impostor.write_text(f"#!/bin/sh\ntouch {tmp_path / 'pwned'}\n")
    impostor.chmod(0o755)
    ok = harness.start([job(command=["true"])], id="ok")
    refused = harness.start([job(command=[PY, "-c", "print(1)"])], id="python")
    smuggled = harness.start([job(command=["true"], env={"PATH": str(fake)})], id="smuggled")
    harness.run_until(lambda: all(harness.get(e.id).status.is_complete for e in (ok, refused, smuggled)))
    assert harness.get(ok.id).status == S.SUCCEEDED
    assert "is not in [stages.run_job_local] allowed_commands (true)" in errors(harness, refused.id)[0]
    assert "is not in [stages.run_job_local] allowed_commands" in errors(harness, smuggled.id)[0]
    assert not (tmp_path / "pwned").exists()


def test_allowed_working_dirs_limit_where_jobs_run(
    make_harness: Callable[..., Harness], tmp_path: Path
) -> None:
    """Item 8: a workingDir outside the list is refused; the default working directory is fine."""
    allowed = tmp_path / "checkouts"
    (allowed / "shop").mkdir(parents=True)
    harness = make_harness(stages__run_job_local__allowed_working_dirs=[str(allowed)])
    inside = harness.start([job(command=["true"], workingDir=str(allowed / "shop"))], id="inside")
    default = harness.start([job(command=["true"])], id="default")
    outside = harness.start([job(command=["cat", "gennaker.toml"], workingDir=str(tmp_path))], id="outside")
    harness.run_until(lambda: all(harness.get(e.id).status.is_complete for e in (inside, default, outside)))
    assert harness.get(inside.id).status == S.SUCCEEDED
    assert harness.get(default.id).status == S.SUCCEEDED
    assert "is not under [stages.run_job_local] allowed_working_dirs" in errors(harness, outside.id)[0]


def test_a_bad_setting_is_named(make_harness: Callable[..., Harness]) -> None:
    from gennaker.config import ConfigError

    with pytest.raises(ConfigError, match=r"stages\.run_job_local\.allowed_commnds"):
        make_harness(stages__run_job_local__allowed_commnds=["make"])
