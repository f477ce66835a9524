"""Generated requests from ``/openapi.json`` (schemathesis) against the API served on 127.0.0.1:
whatever they send, the answer is never a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from gennaker.testing import make_services
from tests.api.live import LiveServer
from tests.engine.fakes import EngineTestPlugin

EXAMPLES_PER_OPERATION = 15
#: An endless stream: covered by test_stream.py instead.
SKIPPED = {("GET", "/events/stream")}


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(tmp_path: Path) -> None:
    services = make_services(f"sqlite:///{tmp_path / 'g.db'}", plugins=(EngineTestPlugin(),))
    failures: list[str] = []
    try:
        with LiveServer(services, worker=True) as server:
            _seed(server.url)
            schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
            for result in schema.get_all_operations():
                operation = result.ok()
                if (operation.method.upper(), operation.path) in SKIPPED:
                    continue
                failures.extend(_fuzz(operation, server.url))
    finally:
        services.close()
    assert not failures, "\n".join(failures[:20])


def _fuzz(operation: schemathesis.APIOperation, base_url: str) -> list[str]:
    found: list[str] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, timeout=10)
        if response.status_code >= 500:
            found.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
            )

    run()
    return found


def _seed(url: str) -> None:
    import httpx

    with httpx.Client(base_url=url) as http:
        http.post("/applications", json={"name": "shop", "email": "a@example.com"})
        http.post(
            "/pipelines",
            json={"application": "shop", "name": "p", "stages": [{"refId": "1", "type": "noop"}]},
        )
        http.post("/pipelines/shop/p", json={})
