"""Docker registry triggers against a real registry (Debian's docker-registry on 127.0.0.1): the
first poll only records tags, a new tag starts the pipeline once with its digest and artifact, tag
patterns, and registries that are down or answer garbage."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from gennaker import events
from gennaker.clock import FrozenClock
from gennaker.config import load_settings
from gennaker.model.status import ExecutionStatus
from gennaker.services import Services
from gennaker.testing import make_services, run_until_idle
from gennaker.triggers.docker_registry import RegistryClient, docker_settings
from gennaker.triggers.scheduler import run_once_sync
from tests.engine.fakes import EngineTestPlugin
from tests.triggers.conftest import MakeServices, executions_of, save_pipeline
from tests.triggers.registry import Registry, free_port

INTERVAL_MS = 30_000


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    server = Registry(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()


def account(name: str, address: str, *repositories: str) -> dict[str, Any]:
    return {"name": name, "address": address, "repositories": list(repositories), "pollIntervalSeconds": 30}


def docker_trigger(repository: str, **fields: Any) -> dict[str, Any]:
    return {"type": "docker", "enabled": True, "account": "local", "repository": repository, **fields}


def poll(services: Services) -> None:
    """One scheduler round, then move past the poll interval."""
    run_once_sync(services)
    clock = services.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(ms=INTERVAL_MS)


def test_new_tag_starts_the_pipeline_once(make: MakeServices, registry: Registry) -> None:
    repository = f"team/app-{free_port()}"
    registry.push(repository, "v1")
    services = make(docker__accounts=[account("local", registry.url, repository)])
    config = save_pipeline(services, triggers=[docker_trigger(repository)])
    poll(services)  # the first poll records v1 without triggering
    assert executions_of(services, config["id"]) == []
    digest = registry.push(repository, "v2")
    poll(services)
    poll(services)
    [execution] = executions_of(services, config["id"])
    host = registry.url.removeprefix("http://")
    trigger = execution.trigger
    assert (trigger["tag"], trigger["digest"], trigger["account"]) == ("v2", digest, "local")
    assert (trigger["registry"], trigger["repository"]) == (host, repository)
    assert trigger["artifacts"] == [
        {
            "type": "docker/image",
            "name": f"{host}/{repository}",
            "version": "v2",
            "reference": f"{host}/{repository}:v2",
        }
    ]
    run_until_idle(services, advance_clock=False)
    with services.db.read() as conn:
        assert services.executions.load(conn, execution.id).status == ExecutionStatus.SUCCEEDED


def test_tag_patterns_and_latest(sqlite_url: str, registry: Registry) -> None:
    repository = f"team/svc-{free_port()}"
    registry.push(repository, "base")
    services = make_services(
        sqlite_url,
        plugins=(EngineTestPlugin(),),
        docker__accounts=[account("local", registry.url)],  # the repository comes from the triggers
    )
    try:
        semver = save_pipeline(services, name="semver", triggers=[docker_trigger(repository, tag=r"v\d+")])
        any_tag = save_pipeline(services, name="any", triggers=[docker_trigger(repository)])
        other_account = save_pipeline(
            services, name="other", triggers=[docker_trigger(repository, account="elsewhere")]
        )
        poll(services)
        for tag in ("latest", "v3", "v3-rc1", "feature"):
            registry.push(repository, tag, content=tag)
        poll(services)
        tags = {
            c["name"]: sorted(e.trigger["tag"] for e in executions_of(services, c["id"]))
            for c in (semver, any_tag, other_account)
        }
        assert tags == {"semver": ["v3"], "any": ["feature", "v3", "v3-rc1"], "other": []}
    finally:
        services.close()


class _Garbage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>not a registry</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_registry_down_or_garbage_is_recorded_and_others_keep_polling(
    sqlite_url: str, registry: Registry
) -> None:
    garbage = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=garbage.serve_forever, daemon=True).start()
    repository = f"team/ok-{free_port()}"
    registry.push(repository, "v1")
    accounts = [
        account("down", f"http://127.0.0.1:{free_port()}", "team/a"),
        account("garbage", f"http://127.0.0.1:{garbage.server_address[1]}", "team/b"),
        account("local", registry.url, repository),
    ]
    services = make_services(sqlite_url, plugins=(EngineTestPlugin(),), docker__accounts=accounts)
    try:
        config = save_pipeline(services, triggers=[docker_trigger(repository)])
        poll(services)
        registry.push(repository, "v2")
        poll(services)
        poll(services)
        assert [e.trigger["tag"] for e in executions_of(services, config["id"])] == ["v2"]
        with services.db.read() as conn:
            errors = events.list_events(conn, events.EventQuery(types=(events.TRIGGER_ERROR,)))
        by_account = {e.body["account"]: e.body["reason"] for e in errors}
        assert len(errors) == 2  # once per broken registry, not once per poll
        assert "cannot reach" in by_account["down"]
        assert "garbage" in by_account["garbage"]
    finally:
        services.close()
        garbage.shutdown()
        garbage.server_close()


def test_digest_head_uses_manifest_accept_headers(registry: Registry) -> None:
    repository = f"team/digest-{free_port()}"
    pushed = registry.push(repository, "v1")
    settings = docker_settings(
        load_settings(environ={}, overrides={"docker.accounts": [account("r", registry.url)]})
    )

    async def ask() -> tuple[list[str], str | None]:
        async with httpx.AsyncClient() as http:
            client = RegistryClient(settings.accounts[0], http)
            return await client.tags(repository), await client.digest(repository, "v1")

    assert asyncio.run(ask()) == (["v1"], pushed)
