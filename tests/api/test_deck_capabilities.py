"""The small endpoints Deck calls on its main screens, answered in the shapes it reads."""

from __future__ import annotations

from tests.api.live import SyncClient


def test_quiet_period(client: SyncClient) -> None:
    """packages/core/src/pipeline/triggers/useQuietPeriod.hook.ts reads ``{startTime, endTime,
    enabled}`` and shows no badge when not enabled."""
    assert client.get("/capabilities/quietPeriod").json() == {
        "enabled": False,
        "inQuietPeriod": False,
        "startTime": -1,
        "endTime": -1,
    }


def test_preconfigured_jobs_and_plugins(client: SyncClient) -> None:
    """packages/core/src/pipeline/config/stages/preconfiguredJob/preconfiguredJob.reader.ts (``GET
    /jobs/preconfigured``, a list) and packages/core/src/plugins/plugin.registry.ts
    (loadPluginManifestFromGate: ``/plugins/deck/plugin-manifest.json``, a list)."""
    assert client.get("/jobs/preconfigured").json() == []
    assert client.get("/plugins/deck/plugin-manifest.json").json() == []
