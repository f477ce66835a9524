"""A deploy checks WRITE on its account for the execution's user before anything is asked of the
provider: refused, the stage ends TERMINAL with the reason and no server group or instance exists."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from gennaker.model.status import ExecutionStatus
from gennaker.providers.agents import AgentRunner
from gennaker.providers.local.provider import LocalProvider
from gennaker.testing import run_until_idle
from tests.authz.conftest import World, seed
from tests.stages.cloud.conftest import EXAMPLE, deploy_pipeline

MakeWorld = Callable[..., World]


def _run_until_complete(world: World, execution_id: str, seconds: float = 60) -> dict[str, object]:
    services = world.services
    deadline = time.monotonic() + seconds
    while True:
        run_until_idle(services, advance_clock=False)
        asyncio.run(AgentRunner(services.clouddriver, services.db, services.clock, "test").run_once())
        execution: dict[str, object] = world.as_("root", "GET", f"/pipelines/{execution_id}").json()
        if ExecutionStatus(str(execution["status"])).is_complete:
            return execution
        assert time.monotonic() < deadline, f"not done after {seconds} s"
        time.sleep(0.05)
        services.clock.advance(ms=1_000)  # type: ignore[attr-defined]


def test_a_deploy_to_an_account_the_user_cannot_write_ends_terminal_before_any_instance_starts(
    make_world: MakeWorld, tmp_path: Path
) -> None:
    world = make_world()
    seed(world)
    package = tmp_path / "hello"
    shutil.copytree(EXAMPLE, package)
    config = deploy_pipeline("shop", str(package), account="prod")
    config["stages"][0]["account"] = "prod"
    saved = world.as_("root", "POST", "/pipelines", json=config)
    assert saved.status_code == 200, saved.text
    provider = world.services.clouddriver.registry.get("local")
    assert isinstance(provider, LocalProvider)
    try:
        ref = world.as_("runner", "POST", "/pipelines/shop/deploy", json={}).json()["ref"]
        done = _run_until_complete(world, ref.rsplit("/", 1)[1])
        assert done["status"] == "TERMINAL"
        stages = {s["type"]: s for s in done["stages"]}  # type: ignore[union-attr]
        assert stages["bake"]["status"] == "SUCCEEDED"
        error = stages["createServerGroup"]["context"]["exception"]["details"]["error"]
        assert "runner may not deploy: WRITE permission on account 'prod' is required" in error
        assert "deployers" in error
        assert provider.runtimes["prod"].state.groups() == []
        assert provider.runtimes["prod"].state.instances() == []
    finally:
        provider.stop_all()
