"""The infrastructure view against the real local provider: a real ``gennaker up`` deploys the
example service (real processes behind a real HAProxy), the browser resizes its server group from
the page, and the new instance serves through the load balancer; the page shows the new counts.
No Gate shapes are stubbed here (test_browser.py checks the drawing against Gate's shapes)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_local_provider import EXAMPLE, GENNAKER, Up, _free_port, require_haproxy, through, until
from tests.web.conftest import require_chromium
from tests.web.test_browser import shot

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-local")]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    require_haproxy()
    require_chromium()
    server = Up(tmp_path)
    try:
        yield server
    finally:
        server.stop()
        subprocess.run(
            [GENNAKER, "local", "stop-all", "--yes"],
            env=server.env,
            cwd=server.tmp,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        shutil.rmtree(server.env["GENNAKER_DATA_DIR"], ignore_errors=True)


def _deploy(up: Up, lb_port: int) -> None:
    package = Path(tempfile.mkdtemp(prefix="hello-", dir=up.tmp)) / "hello"
    shutil.copytree(EXAMPLE, package)
    up.post("/applications", {"name": "hello", "email": "team@example.com"})
    up.post("/pipelines", json.loads((EXAMPLE / "pipeline.json").read_text()))
    ref = up.post(
        "/pipelines/hello/deploy",
        {"type": "manual", "parameters": {"package": str(package), "version": "1", "port": str(lb_port)}},
    )["ref"]
    done = up.wait(ref)
    assert done["status"] == "SUCCEEDED", json.dumps(done)[:4000]


def test_resize_a_server_group_from_the_infrastructure_view(browser: Any, up: Up) -> None:
    lb = _free_port()
    _deploy(up, lb)
    until(lambda: set(through(lb, 20)) == {"hello-web-v000-0", "hello-web-v000-1"}, message="2 serve")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=up.url)
    try:
        page = context.new_page()
        page.goto("/ui/applications/hello/infrastructure")
        page.get_by_role("heading", name="local / hello-web").wait_for()
        row = page.locator("section.cluster tbody tr", has_text="hello-web-v000")
        until(lambda: "2 up" in row.inner_text(), message="the page shows 2 instances up")
        row.get_by_role("button", name="Resize…").click()
        dialog = page.locator("#resize-dialog")
        dialog.get_by_label("Max").fill("3")
        dialog.get_by_label("Desired").fill("3")
        dialog.get_by_role("button", name="Resize").click()
        page.get_by_text("Resize server group hello-web-v000: succeeded").wait_for(timeout=90_000)

        # The real processes: a third instance runs and serves through HAProxy.
        until(
            lambda: set(through(lb, 30)) == {"hello-web-v000-0", "hello-web-v000-1", "hello-web-v000-2"},
            timeout=60,
            message="3 instances serve through the load balancer",
        )
        group = up.get("/serverGroups/local/local/hello-web-v000")
        assert group["capacity"] == {"min": 2, "max": 3, "desired": 3}

        def shows_three() -> bool:
            page.reload()
            page.get_by_role("heading", name="local / hello-web").wait_for()
            return "3 up" in page.locator("section.cluster tbody tr", has_text="hello-web-v000").inner_text()

        until(shows_three, timeout=60, message="the page shows 3 instances up")
        shot(page, "infrastructure-local")
    finally:
        context.close()
