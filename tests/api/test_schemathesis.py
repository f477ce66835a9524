"""Generated requests from ``/openapi.json`` (schemathesis) against the API served on 127.0.0.1:
whatever they send, the answer is never a 5xx. A second pass plants values the database cannot
hold (lone surrogates, NUL characters, numbers beyond a double) in the generated JSON bodies:
each such body is a 400 (item 11 of issue #10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

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
                failures.extend(_fuzz_unstorable(operation, server.url))
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


#: Strings and numbers (as JSON text) that parse but cannot be stored.
UNSTORABLE_STRINGS = ["\ud800", "a\udfffb", "\ud83d", "\x00", "de\x00ploy"]
UNSTORABLE_NUMBERS = ["1e400", "-1e400", "1E+999", "9" * 400 + ".0"]
_MARK = "__unstorable_number__"


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*path, i))]
    return [path] if path else []


def _plant(body: Any, data: st.DataObject) -> str:
    """``body`` as JSON text with one leaf (or a new key) replaced by an unstorable value."""
    body = json.loads(json.dumps(body))
    planted: Any
    if data.draw(st.booleans(), label="string"):
        planted = data.draw(st.sampled_from(UNSTORABLE_STRINGS))
        number = None
    else:
        planted, number = _MARK, data.draw(st.sampled_from(UNSTORABLE_NUMBERS))
    leaves = _leaves(body)
    if leaves and data.draw(st.booleans(), label="replace a leaf"):
        *parents, last = data.draw(st.sampled_from(leaves))
        node = body
        for key in parents:
            node = node[key]
        node[last] = planted
    elif isinstance(body, dict):
        body["probe"] = planted
    elif isinstance(body, list):
        body.append(planted)
    else:
        body = planted
    text = json.dumps(body)  # ensure_ascii: surrogates and NUL become \u escapes, as attackers send
    return text if number is None else text.replace(json.dumps(_MARK), number)


def _fuzz_unstorable(operation: schemathesis.APIOperation, base_url: str) -> list[str]:
    found: list[str] = []

    @settings(
        max_examples=5,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), data=st.data())
    def run(case: schemathesis.Case, data: st.DataObject) -> None:
        if not isinstance(case.body, dict | list):
            return
        text = _plant(case.body, data)
        response = httpx.request(
            case.method,
            base_url + case.formatted_path,
            params=case.query or None,
            content=text.encode(),
            headers={"content-type": "application/json"},
            timeout=10,
        )
        if response.status_code != 400:
            found.append(f"{case.method} {case.formatted_path} {text[:200]} -> {response.status_code}")

    run()
    return found


def _seed(url: str) -> None:
    with httpx.Client(base_url=url) as http:
        http.post("/applications", json={"name": "shop", "email": "a@example.com"})
        http.post(
            "/pipelines",
            json={"application": "shop", "name": "p", "stages": [{"refId": "1", "type": "noop"}]},
        )
        http.post("/pipelines/shop/p", json={})
