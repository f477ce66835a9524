"""``gennaker pipeline-templates`` against a live API: save, list, get, plan, delete."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli

TEMPLATE = {
    "schema": "v2",
    "id": "base",
    "metadata": {"name": "Base", "description": "one wait", "owner": "o@example.com"},
    "variables": [{"name": "seconds", "type": "int", "defaultValue": 1}],
    "pipeline": {"stages": [{"refId": "w", "type": "noop", "name": "Wait", "requisiteStageRefIds": []}]},
}


def test_save_list_get_plan_and_delete(cli: Cli, tmp_path: Path) -> None:
    template_file = tmp_path / "template.json"
    template_file.write_text(json.dumps(TEMPLATE))
    saved = cli("pipeline-templates", "save", "-f", str(template_file), "--tag", "stable")
    assert saved.exit_code == 0, saved.output
    listed = cli("pipeline-templates", "list", "-o", "json")
    assert {(t["id"], t["tag"]) for t in json.loads(listed.stdout)} == {
        ("base", "stable"),
        ("base", "latest"),
    }
    got = cli("pipeline-templates", "get", "--id", "base", "--tag", "stable")
    assert json.loads(got.stdout)["metadata"]["name"] == "Base"

    cli("application", "save", "--application-name", "shop", "--owner-email", "t@example.com")
    instance = {
        "schema": "v2",
        "type": "templatedPipeline",
        "application": "shop",
        "name": "p",
        "template": {"reference": "spinnaker://base:stable"},
        "variables": {"seconds": 3},
    }
    instance_file = tmp_path / "instance.json"
    instance_file.write_text(json.dumps(instance))
    planned = cli("pipeline-templates", "plan", "-f", str(instance_file))
    assert planned.exit_code == 0, planned.output
    assert json.loads(planned.stdout)["templateVariables"] == {"seconds": 3}

    instance_file.write_text(json.dumps({**instance, "variables": {"seconds": "three"}}))
    refused = cli("pipeline-templates", "plan", "-f", str(instance_file))
    assert refused.exit_code != 0
    assert "$.variables.seconds" in refused.output

    deleted = cli("pipeline-templates", "delete", "--id", "base")
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(cli("pipeline-templates", "list", "-o", "json").stdout) == []
