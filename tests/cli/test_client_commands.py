"""The spin-like commands against the API served on 127.0.0.1."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from gennaker.authn.passwords import hash_password
from gennaker.cli.common import table
from gennaker.cli.pipelines import execution_rows
from gennaker.testing import make_services
from tests.api.live import LiveServer
from tests.cli.conftest import Cli

PIPELINE_YAML = """
application: shop
name: deploy
parameterConfig:
  - name: env
    required: true
stages:
  - refId: "1"
    type: noop
    name: Build
  - refId: "2"
    requisiteStageRefIds: ["1"]
    type: noop
    name: Ship
"""


def _setup(cli: Cli, tmp_path: Path) -> str:
    assert (
        cli("application", "save", "--application-name", "shop", "--owner-email", "a@example.com").exit_code
        == 0
    )
    path = tmp_path / "p.yaml"
    path.write_text(PIPELINE_YAML)
    result = cli("pipeline", "save", "-f", str(path))
    assert result.exit_code == 0, result.output
    config = json.loads(cli("pipeline", "get", "-a", "shop", "-n", "deploy", "-o", "json").stdout)
    return str(config["id"])


def test_applications(cli: Cli) -> None:
    result = cli(
        "application",
        "save",
        "--application-name",
        "Shop",
        "--owner-email",
        "a@example.com",
        "--cloud-providers",
        "kubernetes",
    )
    assert result.exit_code == 0 and "Application shop saved" in result.stdout
    assert "shop" in cli("application", "list").stdout
    listed = json.loads(cli("application", "list", "-o", "json").stdout)
    assert listed[0]["cloudProviders"] == "kubernetes"
    got = json.loads(cli("application", "get", "shop", "-o", "json").stdout)
    assert got["attributes"]["email"] == "a@example.com"
    assert cli("application", "delete", "shop").exit_code == 0
    missing = cli("application", "get", "shop")
    assert missing.exit_code == 1 and "Application not found (id: shop)" in missing.stderr
    incomplete = cli("application", "save", "--application-name", "x")
    assert incomplete.exit_code == 1 and "owner email" in incomplete.stderr


def test_pipeline_round_trip_validate_and_delete(cli: Cli, tmp_path: Path) -> None:
    _setup(cli, tmp_path)
    first = cli("pipeline", "get", "-a", "shop", "-n", "deploy", "-o", "json").stdout
    saved = tmp_path / "saved.json"
    saved.write_text(first)
    assert cli("pipeline", "save", "-f", str(saved)).exit_code == 0
    again = json.loads(cli("pipeline", "get", "-a", "shop", "-n", "deploy", "-o", "json").stdout)
    original = json.loads(first)
    for key in ("updateTs",):
        original.pop(key), again.pop(key)
    assert again == original
    assert "deploy" in cli("pipeline", "list", "-a", "shop").stdout

    assert cli("pipeline", "validate", "-f", str(saved)).exit_code == 0
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"application": "shop", "name": "x", "stages": [{"refId": "1", "type": "nope"}]})
    )
    invalid = cli("pipeline", "validate", "-f", str(bad))
    assert (
        invalid.exit_code == 1 and "$.stages[0].type: stage '1': unknown stage type 'nope'" in invalid.stderr
    )
    assert cli("pipeline", "delete", "-a", "shop", "-n", "deploy").exit_code == 0
    assert cli("pipeline", "get", "-a", "shop", "-n", "deploy").exit_code == 1


def test_pipeline_get_reports_inactive_triggers(cli: Cli, tmp_path: Path) -> None:
    _setup(cli, tmp_path)
    config = json.loads(cli("pipeline", "get", "-a", "shop", "-n", "deploy", "-o", "json").stdout)
    config["triggers"] = [
        {"type": "webhook", "enabled": True, "source": "x"},
        {"type": "travis", "enabled": True, "master": "ci", "job": "build"},
    ]
    path = tmp_path / "with-triggers.json"
    path.write_text(json.dumps(config))
    assert cli("pipeline", "save", "-f", str(path)).exit_code == 0
    got = cli("pipeline", "get", "-a", "shop", "-n", "deploy", "-o", "json")
    assert got.exit_code == 0
    assert json.loads(got.stdout)["triggers"] == config["triggers"]  # stdout stays the config
    assert "trigger 1 (travis) is inactive: Gennaker does not watch Travis builds" in got.stderr
    assert "trigger 0" not in got.stderr


def test_execute_wait_and_list(cli: Cli, tmp_path: Path) -> None:
    config_id = _setup(cli, tmp_path)
    missing = cli("pipeline", "execute", "-a", "shop", "-n", "deploy")
    assert missing.exit_code == 1 and "required parameter 'env' is missing" in missing.stderr
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"region": "eu"}))
    result = cli(
        "pipeline", "execute", "-a", "shop", "-n", "deploy", "-p", "env=prod", "-f", str(params), "--wait"
    )
    assert result.exit_code == 0, result.output
    assert "Build" in result.stdout and "Ship" in result.stdout and "SUCCEEDED" in result.stdout

    listed = json.loads(
        cli("pipeline", "execution", "list", "-i", config_id, "--succeeded", "-o", "json").stdout
    )
    assert len(listed) == 1 and listed[0]["trigger"]["parameters"] == {"region": "eu", "env": "prod"}
    execution_id = listed[0]["id"]
    table = cli("pipeline", "execution", "get", execution_id)
    assert table.exit_code == 0 and "Ship" in table.stdout
    full = json.loads(cli("pipeline", "execution", "get", execution_id, "-o", "json").stdout)
    assert full["id"] == execution_id and full["status"] == "SUCCEEDED"
    assert (
        cli("pipeline", "execution", "list", "-i", config_id, "--running", "-o", "json").stdout.strip()
        == "[]"
    )
    watched = cli("execution", "watch", execution_id)
    assert watched.exit_code == 0 and "SUCCEEDED" in watched.stdout


def test_a_failing_execution_makes_wait_and_watch_exit_1(cli: Cli, tmp_path: Path) -> None:
    cli("application", "save", "--application-name", "shop", "--owner-email", "a@example.com")
    path = tmp_path / "fail.json"
    path.write_text(
        json.dumps(
            {
                "application": "shop",
                "name": "fail",
                "stages": [{"refId": "1", "type": "scripted", "result": "TERMINAL"}],
            }
        )
    )
    cli("pipeline", "save", "-f", str(path))
    result = cli("pipeline", "execute", "-a", "shop", "-n", "fail", "--wait")
    assert result.exit_code == 1
    assert "TERMINAL" in result.stdout and "scripted failure" in result.stdout


def test_cancel_pause_resume_judge_and_restart(cli: Cli, tmp_path: Path) -> None:
    cli("application", "save", "--application-name", "shop", "--owner-email", "a@example.com")
    path = tmp_path / "slow.json"
    path.write_text(
        json.dumps(
            {
                "application": "shop",
                "name": "slow",
                "stages": [{"refId": "1", "type": "scripted", "polls": 100000}],
            }
        )
    )
    cli("pipeline", "save", "-f", str(path))
    started = json.loads(cli("pipeline", "execute", "-a", "shop", "-n", "slow", "-o", "json").stdout)
    execution_id = started["id"]
    import time

    deadline = time.monotonic() + 10
    while True:
        execution = json.loads(cli("pipeline", "execution", "get", execution_id, "-o", "json").stdout)
        if execution["status"] == "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert execution["status"] == "RUNNING"
    stage_id = execution["stages"][0]["id"]
    assert cli("execution", "pause", execution_id).exit_code == 0
    again = cli("execution", "pause", execution_id)
    assert again.exit_code == 1 and "only RUNNING executions can be paused" in again.stderr
    assert cli("execution", "resume", execution_id).exit_code == 0
    judged = cli("execution", "judge", execution_id, stage_id, "--continue")
    assert judged.exit_code == 1 and "not a manualJudgment" in judged.stderr
    assert cli("execution", "judge", execution_id, stage_id).exit_code == 1
    restart = cli("execution", "restart-stage", execution_id, stage_id)
    assert restart.exit_code == 1 and "only finished stages can be restarted" in restart.stderr
    assert cli("pipeline", "execution", "cancel", execution_id, "--reason", "enough").exit_code == 0
    watched = cli("execution", "watch", execution_id)
    assert watched.exit_code == 1 and "CANCELED" in watched.stdout


def test_an_unreachable_api_is_a_one_line_error(tmp_path: Path) -> None:
    cli = Cli({"GENNAKER_ENDPOINT": "http://127.0.0.1:9", "GENNAKER_CLI_CONFIG": str(tmp_path / "none.yaml")})
    result = cli("application", "list")
    assert result.exit_code == 1
    assert "cannot reach the API at http://127.0.0.1:9" in result.stderr and "Traceback" not in result.output


def test_ids_stay_whole_and_the_user_column_is_filled(cli: Cli, tmp_path: Path) -> None:
    """Item 15 of issue #10: on a narrow terminal the tables folded ids over lines (they could not
    be copied), and the USER column was empty because Rich took '[anonymous]' for markup. The
    table is printed to consoles of a fixed width (the CLI's own console reads the terminal's)."""
    config_id = _setup(cli, tmp_path)
    started = cli("pipeline", "execute", "-a", "shop", "-n", "deploy", "-p", "env=prod", "--wait")
    assert started.exit_code == 0, started.output
    [execution] = json.loads(cli("pipeline", "execution", "list", "-i", config_id, "-o", "json").stdout)
    columns = ("ID", "PIPELINE", "STATUS", "STARTED", "DURATION", "USER")
    for width in (50, 200):
        buffer = io.StringIO()
        table(None, columns, execution_rows([execution]), Console(file=buffer, width=width))
        text = buffer.getvalue()
        assert any(execution["id"] in line for line in text.splitlines()), text
        if width == 200:
            assert "[anonymous]" in text, text


def test_endpoint_is_a_global_option(cli: Cli, tmp_path: Path) -> None:
    """Item 15 of issue #10: ``gennaker --endpoint URL application list`` was refused."""
    endpoint = cli.env["GENNAKER_ENDPOINT"]
    bare = Cli({"GENNAKER_CLI_CONFIG": str(tmp_path / "none.yaml"), "COLUMNS": "200"})
    cli("application", "save", "--application-name", "shop", "--owner-email", "a@example.com")
    listed = bare("--endpoint", endpoint, "application", "list", "-o", "json")
    assert listed.exit_code == 0, listed.output
    assert [a["name"] for a in json.loads(listed.stdout)] == ["shop"]
    # The command's own option wins over the global one.
    wrong = bare("--endpoint", "http://127.0.0.1:9", "application", "list", "--endpoint", endpoint)
    assert wrong.exit_code == 0, wrong.output


def test_help_shows_no_bool_placeholders_or_backticks(cli: Cli) -> None:
    """Item 15 of issue #10: flags showed '<bool>' and docstrings their double backticks."""
    for command in ((), ("pipeline",), ("pipeline", "execute"), ("pipeline", "execution", "list"), ("up",)):
        text = cli(*command, "--help").stdout
        assert "Usage:" in text and "<bool>" not in text and "``" not in text, (command, text)


def test_an_artifacts_file_that_is_not_json_or_yaml_says_so(cli: Cli, tmp_path: Path) -> None:
    """Item 24 of issue #10: this said "must hold a list of artifacts" (YAML reads any text as a
    string)."""
    _setup(cli, tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("just some words, not artifacts\n")
    result = cli("pipeline", "execute", "-a", "shop", "-n", "deploy", "-p", "env=x", "-t", str(notes))
    assert result.exit_code == 1
    assert f"{notes} is not valid JSON" in result.stderr and "nor a YAML mapping or list" in result.stderr
    mapping = tmp_path / "one.yaml"
    mapping.write_text("type: docker/image\n")
    wrong_shape = cli("pipeline", "execute", "-a", "shop", "-n", "deploy", "-p", "env=x", "-t", str(mapping))
    assert wrong_shape.exit_code == 1 and "must hold a list of artifacts" in wrong_shape.stderr


def test_basic_credentials_from_spin_style_config(tmp_path: Path) -> None:
    """Item 15 of issue #10: the CLI had no way to sign in with HTTP Basic; spin's config file
    has ``auth: {enabled: true, basic: {username, password}}``, and so does ours."""
    users = [{"name": "bob", "password_hash": hash_password("s3cret", iterations=1000)}]
    services = make_services(f"sqlite:///{tmp_path / 'auth.db'}", auth__enabled=True, auth__users=users)
    config = tmp_path / "config.yaml"
    try:
        with LiveServer(services) as live:
            env = {"GENNAKER_ENDPOINT": live.url, "GENNAKER_CLI_CONFIG": str(config), "COLUMNS": "200"}
            config.write_text("auth:\n  enabled: true\n  basic:\n    username: bob\n    password: s3cret\n")
            saved = Cli(env)("application", "save", "--application-name", "shop", "--owner-email", "a@b.c")
            assert saved.exit_code == 0, saved.output
            listed = json.loads(Cli(env)("application", "list", "-o", "json").stdout)
            assert listed[0]["lastModifiedBy"] == "bob"
            config.write_text("auth:\n  basic:\n    username: bob\n    password: wrong\n")
            refused = Cli(env)("application", "list")
            assert refused.exit_code == 1 and "wrong user name or password" in refused.stderr
            by_env = Cli({**env, "GENNAKER_USERNAME": "bob", "GENNAKER_PASSWORD": "s3cret"})
            assert by_env("application", "list").exit_code == 0
    finally:
        services.close()
