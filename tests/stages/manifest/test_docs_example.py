"""The red/black example of docs/providers/kubernetes.md runs as written (account and namespace
renamed): the new ReplicaSet takes the Service's traffic, the judgment keeps it, the old one is
deleted by dynamic target."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from gennaker.model.status import ExecutionStatus
from tests.stages.manifest.conftest import ACCOUNT, KubeHarness

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kube")]
DOC = Path(__file__).resolve().parents[3] / "docs" / "providers" / "kubernetes.md"


def _example(namespace: str) -> dict[str, Any]:
    section = DOC.read_text().split("## Example: red/black", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block is not None
    text = block.group(1).replace('"k8s-prod"', f'"{ACCOUNT}"')
    text = text.replace('"namespaceOverride": "shop"', f'"namespaceOverride": "{namespace}"')
    text = text.replace('"location": "shop"', f'"location": "{namespace}"')
    pipeline: dict[str, Any] = json.loads(text)
    return pipeline


def _run(kube: KubeHarness, tag: str, judgment: str) -> Any:
    pipeline = _example(kube.namespace)
    execution = kube.start(
        pipeline["stages"], application="shop", id=f"rb-{tag}", trigger={"type": "manual", "tag": tag}
    )
    kube.run_until(lambda: kube.stage(execution.id, "3").status == ExecutionStatus.RUNNING)
    kube.services.operations.patch_stage(
        execution.id,
        kube.stage(execution.id, "3").id,
        {"judgmentStatus": "continue", "judgmentInput": judgment},
    )
    return kube.run_until_complete(execution.id)


def test_red_black_with_a_manual_judgment(kube: KubeHarness) -> None:
    ns = kube.namespace
    first = _run(kube, "1", "keep")
    assert first.status == ExecutionStatus.SUCCEEDED, [s.context.get("exception") for s in first.stages]
    second = _run(kube, "2", "keep")
    assert second.status == ExecutionStatus.SUCCEEDED, [s.context.get("exception") for s in second.stages]
    statuses = {s.ref_id: s.status for s in second.stages}
    assert statuses["4"] == ExecutionStatus.SUCCEEDED and statuses["5"] == ExecutionStatus.SKIPPED
    names = [r["metadata"]["name"] for r in kube.cluster.list("replicaset", ns)]
    assert names == ["web-v001"]
    serving = kube.cluster.list("pods", ns, "serving=web")
    assert len(serving) == 3 and all(p["metadata"]["labels"]["version"] == "2" for p in serving)
