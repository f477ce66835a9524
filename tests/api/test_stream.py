"""Live updates over a real HTTP connection: Server-Sent Events from the events table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from gennaker.testing import make_services, run_until_idle
from tests.api.live import LiveServer
from tests.engine.fakes import EngineTestPlugin

PIPELINE = {"application": "shop", "name": "p", "stages": [{"refId": "1", "type": "noop", "name": "One"}]}


def _events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    event: dict[str, Any] = {}
    for line in response.iter_lines():
        if line.startswith("id: "):
            event["id"] = line[4:]
        elif line.startswith("event: "):
            event["event"] = line[7:]
        elif line.startswith("data: "):
            event["data"] = json.loads(line[6:])
        elif line == "" and event:
            yield event
            event = {}


def _until_complete(response: httpx.Response) -> list[dict[str, Any]]:
    seen = []
    for event in _events(response):
        seen.append(event)
        if event["event"] in ("pipeline.complete", "pipeline.failed"):
            break
    return seen


def test_stream_carries_stage_and_execution_transitions(database_url: str) -> None:
    services = make_services(database_url, plugins=(EngineTestPlugin(),))
    try:
        with (
            LiveServer(services, worker=True) as server,
            httpx.Client(base_url=server.url, timeout=10) as http,
        ):
            with http.stream("GET", "/events/stream", params={"application": "shop"}) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                ref = http.post("/pipelines/start", json=PIPELINE).json()["ref"]
                seen = _until_complete(stream)
            kinds = [e["event"] for e in seen]
            assert kinds[0] == "pipeline.created"
            assert "pipeline.starting" in kinds and "stage.starting" in kinds and "stage.complete" in kinds
            assert kinds[-1] == "pipeline.complete"
            execution_id = ref.removeprefix("/pipelines/")
            assert all(e["data"]["executionId"] == execution_id for e in seen)
            stage = next(e for e in seen if e["event"] == "stage.complete")["data"]
            assert stage["stageName"] == "One" and stage["status"] == "SUCCEEDED"

            # Reconnecting with Last-Event-ID replays what came after it.
            headers = {"Last-Event-ID": seen[0]["id"]}
            params = {"executionId": execution_id}
            with http.stream("GET", "/events/stream", params=params, headers=headers) as again:
                replay = _until_complete(again)
            assert [e["id"] for e in replay] == [e["id"] for e in seen[1:]]
    finally:
        services.close()


def test_stream_sees_transitions_made_by_another_process(database_url: str) -> None:
    """Two Services objects on one database stand for an API process and a worker process."""
    api_services = make_services(database_url, plugins=(EngineTestPlugin(),))
    worker_services = make_services(database_url, plugins=(EngineTestPlugin(),))
    try:
        with LiveServer(api_services) as server, httpx.Client(base_url=server.url, timeout=10) as http:
            with http.stream("GET", "/events/stream") as stream:
                worker_services.launcher.start_pipeline(PIPELINE)
                run_until_idle(worker_services)
                kinds = [e["event"] for e in _until_complete(stream)]
            assert kinds[-1] == "pipeline.complete"
    finally:
        api_services.close()
        worker_services.close()
