"""The web UI in a real browser: Debian's Chromium driven by Playwright against a real
``gennaker up`` (its own port and data directory), one page per module. The first test works
through the UI as a person would (create an application, save a pipeline with a manual judgment
and a parallel branch, run it with a parameter from the form, watch it, judge it); the others start
from an application made through the API (``shop``) and run alone or in any order: editor,
history, a cycle, restarting a failed stage, waiting and operator actions, run-job output,
filters, keyboard, JavaScript off, sign-in. They also write the screenshots of docs/ui.md."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import SCREENSHOTS, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("web-browser")]

PIPELINE: dict[str, Any] = {
    "application": "web",
    "name": "deploy",
    "parameterConfig": [
        {
            "name": "env",
            "label": "Environment",
            "required": True,
            "description": "where to deploy",
            "hasOptions": True,
            "options": [{"value": "staging"}, {"value": "prod"}],
        }
    ],
    "stages": [
        {"refId": "1", "type": "wait", "name": "Build", "waitTime": 1},
        {
            "refId": "2",
            "requisiteStageRefIds": ["1"],
            "type": "manualJudgment",
            "name": "Approve",
            "instructions": "Ship to ${parameters.env}?",
            "judgmentInputs": [{"value": "ship"}, {"value": "hold"}],
        },
        {"refId": "3", "requisiteStageRefIds": ["1"], "type": "wait", "name": "Smoke test", "waitTime": 0},
        {"refId": "4", "requisiteStageRefIds": ["2", "3"], "type": "wait", "name": "Release", "waitTime": 0},
    ],
    "finally": [{"refId": "f1", "type": "wait", "name": "Clean up", "waitTime": 0}],
}
TIMEOUT = 15_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    up = Server(tmp_path_factory.mktemp("web-up"))
    yield up
    up.stop()


@pytest.fixture(scope="module")
def shop(server: Server) -> dict[str, str]:
    """The application ``shop`` with the pipeline ``deploy`` and one execution of it, run to the
    end through the API (judged ``continue`` with ``ship``); the tests below start from it, so
    each runs alone or in any order."""
    assert server.api("POST", "/applications", json={"name": "shop", "email": "team@example.com"}).is_success
    saved = server.api("POST", "/pipelines", json={**PIPELINE, "application": "shop"})
    assert saved.status_code == 200, saved.text
    ref = server.api("POST", "/pipelines/shop/deploy", json={"parameters": {"env": "prod"}}).json()["ref"]
    execution_id = ref.rsplit("/", 1)[1]
    deadline = time.monotonic() + 30
    judged = False
    while time.monotonic() < deadline:
        execution = server.api("GET", f"/pipelines/{execution_id}").json()
        if execution["status"] == "SUCCEEDED":
            return {"config": saved.json()["id"], "execution": execution_id}
        approve = next(s for s in execution["stages"] if s["refId"] == "2")
        if approve["status"] == "RUNNING" and not judged:
            body = {"judgmentStatus": "continue", "judgmentInput": "ship"}
            assert server.api(
                "PATCH", f"/pipelines/{execution_id}/stages/{approve['id']}", json=body
            ).is_success
            judged = True
        time.sleep(0.1)
    raise AssertionError(f"the deploy execution did not finish: {execution['status']}")


@pytest.fixture(scope="module")
def page(browser: Any, server: Server) -> Iterator[Any]:
    """One page for the whole module; JavaScript errors on it fail the test that caused them."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
    context.set_default_timeout(TIMEOUT)
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    tab.on("dialog", lambda dialog: dialog.accept())
    yield tab
    context.close()


@pytest.fixture(autouse=True)
def no_script_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "page" in request.fixturenames:
        tab = request.getfixturevalue("page")
        errors, tab.errors[:] = list(tab.errors), []
        assert not errors, f"JavaScript errors: {errors}"


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_create_application_save_pipeline_run_and_judge(page: Any, server: Server) -> None:
    page.goto("/")
    assert page.url.endswith("/ui/")
    page.get_by_role("link", name="Create application").click()
    page.get_by_label("Name").fill("web")
    page.get_by_label("Owner email").fill("team@example.com")
    page.get_by_label("Description").fill("The web shop")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url("**/ui/applications/web/executions")

    # A pipeline pasted as Spinnaker JSON, checked as it is loaded, then saved.
    page.get_by_role("link", name="Create pipeline").click()
    page.get_by_role("button", name="Import Spinnaker JSON…").click()
    page.get_by_label("Pipeline JSON to import").fill(json.dumps(PIPELINE))
    page.get_by_role("button", name="Import", exact=True).click()
    page.locator("[data-editor-errors]").get_by_text("✓ valid").wait_for()
    page.get_by_role("button", name="Save pipeline").click()
    page.get_by_text("Saved at").wait_for()
    assert (
        server.api("GET", "/applications/web/pipelineConfigs/deploy").json()["stages"][1]["name"] == "Approve"
    )

    # The trigger form comes from parameterConfig; a missing required value is shown in place.
    page.goto("/ui/applications/web/executions")
    page.get_by_role("button", name="Start manual execution").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_role("button", name="Run").click()
    assert dialog.locator('[data-error-for="$.parameters.env"]').inner_text() == "required"
    dialog.get_by_label("Environment").select_option("prod")
    dialog.get_by_role("button", name="Run").click()
    dialog.wait_for(state="hidden")
    row = page.locator("li.execution").first
    row.wait_for()
    assert "env=prod" in row.inner_text()

    # The details page follows the execution live: Build ends, the judgment waits for someone.
    row.locator("a.status").click()
    page.wait_for_url("**/executions/*")
    page.locator('a.node[data-ref-id="2"][data-status="RUNNING"]').wait_for()
    assert page.locator("a.node").count() == 5  # four stages and the finally stage
    judgment = page.locator("form.judgment")
    judgment.wait_for()
    assert "Ship to prod?" in judgment.inner_text()
    shot(page, "execution-judgment")
    judgment.get_by_label("ship").check()
    judgment.get_by_role("button", name="Continue").click()
    page.locator('[data-execution-status="SUCCEEDED"]').wait_for()
    assert page.locator('a.node[data-ref-id="f1"]').get_attribute("data-status") == "SUCCEEDED"
    execution_id = page.url.rsplit("/", 1)[1].split("?")[0]
    stages = {s["refId"]: s for s in server.api("GET", f"/pipelines/{execution_id}").json()["stages"]}
    assert stages["2"]["context"]["judgmentStatus"] == "continue"
    assert stages["2"]["context"]["judgmentInput"] == "ship"
    page.locator('a.node[data-ref-id="2"]').click()
    page.get_by_text("Judged continue").wait_for()
    shot(page, "execution")


def test_edit_wait_time_in_the_editor_and_see_the_diff(
    page: Any, server: Server, shop: dict[str, str]
) -> None:
    page.goto(f"/ui/applications/shop/pipelines/{shop['config']}/edit")
    wait_time = page.locator('[data-path="$.stages[0].waitTime"]')
    wait_time.fill("7")
    assert '"waitTime": 7' in page.locator("[data-editor-json]").input_value()
    # A trigger and a notification from their forms.
    page.get_by_role("button", name="Add trigger").click()
    page.locator('select[data-path="$.triggers[0].type"]').select_option("cron")
    page.locator('[data-path="$.triggers[0].cronExpression"]').fill("0 0 3 ? * MON-FRI")
    page.get_by_role("button", name="Add notification").click()
    page.locator('[data-path="$.notifications[0].address"]').fill("#deploys")
    page.get_by_role("button", name="Save pipeline").click()
    page.get_by_text("Saved at").wait_for()
    saved = server.api("GET", "/applications/shop/pipelineConfigs/deploy").json()
    assert saved["stages"][0]["waitTime"] == 7
    assert {k: saved["triggers"][0][k] for k in ("type", "enabled", "cronExpression")} == {
        "type": "cron",
        "enabled": True,
        "cronExpression": "0 0 3 ? * MON-FRI",
    }
    assert saved["notifications"][0] == {
        "type": "slack",
        "address": "#deploys",
        "level": "pipeline",
        "when": ["pipeline.failed"],
    }
    shot(page, "editor")

    page.get_by_role("link", name="Revision history").click()
    changed = page.locator("table.diff tr.replace, table.diff tr.insert")
    assert any('"waitTime": 7' in text for text in changed.all_inner_texts())
    assert any('"waitTime": 1' in text for text in changed.all_inner_texts())
    assert any("cronExpression" in text for text in changed.all_inner_texts())
    shot(page, "history")
    # Restoring revision 1 saves it as the newest revision; the history keeps all three.
    page.locator("table.list tr", has_text="1").filter(
        has=page.get_by_role("button", name="Restore")
    ).get_by_role("button", name="Restore").click()
    page.wait_for_url("**/edit")
    restored = server.api("GET", "/applications/shop/pipelineConfigs/deploy").json()
    assert restored["stages"][0]["waitTime"] == 1 and not restored.get("triggers")
    config_id = restored["id"]
    revisions = server.api("GET", f"/pipelineConfigs/{config_id}/history").headers["X-Gennaker-Revisions"]
    assert revisions == "3,2,1"


def test_a_cycle_is_reported_at_its_json_path(page: Any, server: Server, shop: dict[str, str]) -> None:
    page.goto(f"/ui/applications/shop/pipelines/{shop['config']}/edit")
    depends = page.locator('[data-path="$.stages[0].requisiteStageRefIds"]')
    depends.fill("4")
    errors = page.locator("[data-editor-errors]")
    errors.get_by_text("cycle").first.wait_for()
    assert "$.stages[0].requisiteStageRefIds" in errors.inner_text()
    assert depends.get_attribute("aria-invalid") == "true"
    assert "cycle" in depends.locator("xpath=..").inner_text()
    page.get_by_role("button", name="Save pipeline").click()
    page.locator("[data-editor-problem]").get_by_text("cycle").first.wait_for()
    # Nothing was saved.
    assert server.api("GET", "/applications/shop/pipelineConfigs/deploy").json()["stages"][0].get(
        "requisiteStageRefIds", []
    ) in ([], None)


class _Flaky(BaseHTTPRequestHandler):
    """A real webhook receiver that refuses (400) until told to accept."""

    accept = False

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        code = 200 if type(self).accept else 400
        body = json.dumps({"accepted": code == 200}).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_restart_a_failed_stage(page: Any, server: Server, shop: dict[str, str]) -> None:
    handler = type("Flaky", (_Flaky,), {"accept": False})
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        config = {
            "application": "shop",
            "name": "notify",
            "stages": [{"refId": "1", "type": "webhook", "name": "Tell CI", "url": url, "method": "POST"}],
        }
        assert server.api("POST", "/pipelines", json=config).status_code == 200
        ref = server.api("POST", "/pipelines/shop/notify", json={"type": "manual"}).json()["ref"]
        page.goto(f"/ui/applications/shop/executions/{ref.rsplit('/', 1)[1]}")
        page.locator('[data-execution-status="TERMINAL"]').wait_for()
        problem = page.locator("section.panel .problem")
        assert "status code 400" in problem.inner_text()
        assert page.locator("[data-webhook-status]").inner_text() == "400 BAD_REQUEST"
        shot(page, "execution-failed")
        handler.accept = True
        page.get_by_role("button", name="Restart stage").click()
        page.locator('[data-execution-status="SUCCEEDED"]').wait_for()
        assert page.locator("section.panel .problem").count() == 0
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_waiting_pause_resume_skip_and_cancel(page: Any, server: Server, shop: dict[str, str]) -> None:
    config = {
        "application": "shop",
        "name": "slow",
        "limitConcurrent": True,
        "stages": [
            {"refId": "1", "type": "wait", "name": "Long wait", "waitTime": 600},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "wait",
                "name": "Longer wait",
                "waitTime": 900,
            },
        ],
    }
    assert server.api("POST", "/pipelines", json=config).status_code == 200
    # An open pipelines page shows executions started elsewhere as they start (Server-Sent Events).
    page.goto("/ui/applications/shop/executions")
    page.locator("[data-live-state].ok").wait_for()
    first = server.api("POST", "/pipelines/shop/slow", json={}).json()["ref"].rsplit("/", 1)[1]
    slow = page.locator("section.pipeline", has=page.get_by_role("heading", name="slow", exact=True))
    slow.locator("li.execution", has_text="▶ running").locator("a.status").evaluate(
        "a => { window.tagged = a; }"
    )
    second = server.api("POST", "/pipelines/shop/slow", json={}).json()["ref"].rsplit("/", 1)[1]
    slow.locator("li.execution .waiting").wait_for()
    # The live update kept the first row's link (a click on it during a refresh is not lost).
    assert page.evaluate("() => window.tagged.isConnected && window.tagged.getAttribute('href')").endswith(
        first
    )
    page.goto(f"/ui/applications/shop/executions/{second}")
    page.locator(".waiting").get_by_text("execution(s) of this pipeline running").wait_for()

    page.goto(f"/ui/applications/shop/executions/{first}")
    page.locator('a.node[data-ref-id="1"][data-status="RUNNING"]').wait_for()
    page.get_by_role("button", name="Pause").click()
    page.locator('[data-execution-status="PAUSED"]').wait_for()
    page.get_by_role("button", name="Resume").click()
    page.locator('[data-execution-status="RUNNING"]').wait_for()
    page.get_by_role("button", name="Skip remaining wait").click()
    page.locator('a.node[data-ref-id="2"][data-status="RUNNING"]').wait_for()
    page.get_by_role("button", name="Cancel execution…").click()
    page.get_by_label("Reason").fill("wrong branch")
    page.locator("dialog[open]").get_by_role("button", name="Cancel execution").click()
    page.locator('[data-execution-status="CANCELED"]').wait_for()
    page.get_by_text("wrong branch").wait_for()
    body = server.api("GET", f"/pipelines/{first}").json()
    assert body["cancellationReason"] == "wrong branch"
    # The waiting one starts once the slot is free.
    page.goto(f"/ui/applications/shop/executions/{second}")
    page.locator('[data-execution-status="RUNNING"]').wait_for()
    server.api("PUT", f"/pipelines/{second}/cancel")


def test_run_job_output_streams_into_the_stage_panel(page: Any, server: Server, shop: dict[str, str]) -> None:
    config = {
        "application": "shop",
        "name": "job",
        "stages": [
            {
                "refId": "1",
                "type": "runJob",
                "cloudProvider": "local",
                "name": "Migrate",
                "command": ["sh", "-c", "echo first-line; sleep 2; echo second-line"],
            }
        ],
    }
    assert server.api("POST", "/pipelines", json=config).status_code == 200
    ref = server.api("POST", "/pipelines/shop/job", json={}).json()["ref"]
    page.goto(f"/ui/applications/shop/executions/{ref.rsplit('/', 1)[1]}")
    log = page.locator("pre[data-log-url]")
    page.wait_for_function("document.querySelector('pre[data-log-url]')?.textContent.includes('first-line')")
    assert "second-line" not in log.inner_text()  # still running: the rest comes later
    page.wait_for_function("document.querySelector('pre[data-log-url]')?.textContent.includes('second-line')")
    page.locator('[data-execution-status="SUCCEEDED"]').wait_for(timeout=30_000)


def test_keyboard_opens_a_stage(page: Any, server: Server, shop: dict[str, str]) -> None:
    page.goto(f"/ui/applications/shop/executions/{shop['execution']}")
    page.locator('a.node[data-ref-id="3"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**?stage=*")
    assert "Smoke test" in page.locator("#stage-title").inner_text()
    page.keyboard.press("Tab")  # focus moves on within the page, never trapped by the graph
    assert page.evaluate("document.activeElement.tagName") in ("A", "BUTTON", "DIV", "SUMMARY", "PRE")


def test_pages_read_with_javascript_off(browser: Any, server: Server, shop: dict[str, str]) -> None:
    context = browser.new_context(java_script_enabled=False, base_url=server.url)
    try:
        tab = context.new_page()
        tab.goto("/ui/applications/shop/executions")
        assert tab.get_by_text("JavaScript is off").is_visible()
        assert tab.locator("a.chip").first.get_attribute("title") == "Build: succeeded"
        assert not tab.get_by_role("button", name="Start manual execution").first.is_visible()
        tab.locator("section.pipeline").first.locator("a.status").first.click()
        assert tab.locator("a.node").count() == 5
        tab.locator('a.node[data-ref-id="2"]').click()
        assert "Judged continue" in tab.locator("section.panel").inner_text()
    finally:
        context.close()


def test_pipelines_view_filters(page: Any, server: Server, shop: dict[str, str]) -> None:
    page.goto("/ui/applications/shop/executions")
    names = page.locator("section.pipeline h2").all_inner_texts()
    assert names[0] == "deploy" and names == sorted(names)  # Front50's order: by index, then name
    chips = page.locator("section.pipeline").first.locator("a.chip")
    # Chips read in graph order, finally last, and say their status in words too.
    assert [c.get_attribute("title") for c in chips.all()] == [
        "Build: succeeded",
        "Approve: succeeded",
        "Smoke test: succeeded",
        "Release: succeeded",
        "Clean up: succeeded (finally)",
    ]
    shot(page, "pipelines")
    page.get_by_label("Text").fill("no-such-thing")
    page.get_by_text("No pipelines match these filters").wait_for()
    assert "q=no-such-thing" in page.url
    page.get_by_label("Text").fill("")
    page.locator("li.execution").first.wait_for()
    page.locator('select[name="pipeline"]').select_option("deploy")
    page.wait_for_function("document.querySelectorAll('section.pipeline').length === 1")
    assert page.locator("section.pipeline h2").inner_text() == "deploy"


def test_applications_list_and_search(page: Any, server: Server, shop: dict[str, str]) -> None:
    page.goto("/ui/")
    assert page.get_by_role("link", name="shop").is_visible()
    shot(page, "applications")
    page.get_by_label("Search").fill("nothing-like-this")
    page.get_by_text("No application matches").wait_for()


def test_edit_and_delete_an_application_and_a_pipeline(page: Any, server: Server) -> None:
    assert server.api("POST", "/applications", json={"name": "scratch", "email": "a@example.com"}).is_success
    assert server.api(
        "POST", "/pipelines", json={"application": "scratch", "name": "tmp", "stages": []}
    ).is_success
    page.goto("/ui/applications/scratch/config")
    page.get_by_label("Description").fill("to be removed")
    page.get_by_label("Owner email").fill("")
    page.get_by_role("button", name="Save").click()
    assert page.locator('[data-error-for="$.email"]').inner_text() == "required"
    page.get_by_label("Owner email").fill("b@example.com")
    page.get_by_label("Permissions").fill('{"READ": ["dev"], "WRITE": ["ops"]')
    page.get_by_role("button", name="Save").click()
    assert page.locator('[data-error-for="$.permissions"]').inner_text().startswith("not valid JSON")
    page.get_by_label("Permissions").fill('{"READ": ["dev", "ops"], "WRITE": ["ops"]}')
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/ui/applications/scratch/executions")
    app = server.api("GET", "/applications/scratch").json()["attributes"]
    assert (app["email"], app["description"]) == ("b@example.com", "to be removed")
    assert app["permissions"] == {"READ": ["dev", "ops"], "WRITE": ["ops"]}

    page.get_by_role("link", name="Configure").click()
    page.get_by_role("button", name="Delete pipeline…").click()  # the confirm() is accepted
    page.wait_for_url("**/ui/applications/scratch/executions")
    assert server.api("GET", "/applications/scratch/pipelineConfigs").json() == []

    page.goto("/ui/applications/scratch/config")
    page.get_by_role("button", name="Delete application…").click()
    dialog = page.locator("#confirm-delete")
    dialog.get_by_role("button", name="Delete").click()
    dialog.get_by_text("Type scratch to confirm.").wait_for()
    dialog.get_by_label("Name").fill("scratch")
    dialog.get_by_role("button", name="Delete").click()
    page.wait_for_url("**/ui/")
    assert server.api("GET", "/applications/scratch").status_code == 404


def test_infrastructure_says_when_there_is_no_provider(
    page: Any, server: Server, shop: dict[str, str]
) -> None:
    page.goto("/ui/applications/shop/infrastructure")
    if server.api("GET", "/applications/shop/serverGroups").status_code == 404:
        page.get_by_text("No cloud provider configured").wait_for()
    else:
        page.get_by_role("heading", name="Clusters").wait_for()


SERVER_GROUPS = [
    {
        "name": f"shop-api-v00{n}",
        "account": "local-dev",
        "region": "host1",
        "cluster": "shop-api",
        "type": "local",
        "cloudProvider": "local",
        "application": "shop",
        "isDisabled": n == 2,
        "disabled": n == 2,
        "moniker": {"app": "shop", "cluster": "shop-api", "stack": "api", "sequence": n},
        "createdTime": 1714000000000 + n,
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "instanceCounts": {
            "total": 2,
            "up": 1 if n == 3 else 0,
            "down": 1 if n == 3 else 0,
            "unknown": 0 if n == 3 else 2,
            "outOfService": 0,
            "starting": 0,
        },
        "instances": [
            {
                "id": f"shop-api-v00{n}-{i}",
                "name": f"shop-api-v00{n}-{i}",
                "healthState": ("Up" if i == 0 else "Down") if n == 3 else "Unknown",
                "launchTime": 1714000001000,
                "health": [],
            }
            for i in range(2)
        ],
        "loadBalancers": ["shop-api"],
    }
    for n in (2, 3)
]


def _json(route: Any, body: Any, status: int = 200) -> None:
    route.fulfill(status=status, content_type="application/json", body=json.dumps(body))


def test_infrastructure_renders_provider_data_and_sends_gate_tasks(
    page: Any, server: Server, shop: dict[str, str]
) -> None:
    """The provider endpoints are not part of this package, so the browser is given their answers
    in Gate's documented shapes (reference/spinnaker-clouddriver.md §2) by Playwright's routing; the
    test checks what is drawn and the Gate task the page sends."""
    sent: list[Any] = []

    def tasks(route: Any) -> None:
        sent.append(route.request.post_data_json)
        _json(route, {"ref": "/tasks/task-1"})

    page.route("**/applications/shop/serverGroups?*", lambda r: _json(r, SERVER_GROUPS))
    page.route(
        "**/applications/shop/loadBalancers",
        lambda r: _json(
            r,
            [
                {
                    "name": "shop-api",
                    "account": "local-dev",
                    "region": "host1",
                    "serverGroups": [{"name": "shop-api-v003", "isDisabled": False}],
                }
            ],
        ),
    )
    page.route("**/applications/shop/tasks", tasks)
    page.route(
        "**/tasks/task-1",
        lambda r: _json(
            r,
            {
                "id": "task-1",
                "status": "SUCCEEDED",
                "steps": [{"name": "resizeServerGroup", "status": "SUCCEEDED"}],
            },
        ),
    )
    try:
        page.goto("/ui/applications/shop/infrastructure")
        page.get_by_role("heading", name="local-dev / shop-api").wait_for()
        older, row = page.locator("section.cluster tbody tr").all()
        assert older.locator("strong").inner_text() == "shop-api-v002"
        assert row.locator("strong").inner_text() == "shop-api-v003"
        assert "✓ enabled" in row.inner_text() and "1 up, 1 down" in row.inner_text()
        assert "✓ shop-api-v003-0 · Up" in row.inner_text() and "✕ shop-api-v003-1 · Down" in row.inner_text()
        assert "⊘ disabled" in older.inner_text()
        assert row.get_by_role("button", name="Roll back to shop-api-v002").is_visible()
        row.get_by_role("button", name="Resize…").click()
        dialog = page.locator("#resize-dialog")
        dialog.get_by_label("Desired").fill("3")
        dialog.get_by_role("button", name="Resize").click()
        dialog.get_by_text("min ≤ desired ≤ max").wait_for()
        assert sent == []
        dialog.get_by_label("Max").fill("4")
        dialog.get_by_role("button", name="Resize").click()
        page.get_by_text("Resize server group shop-api-v003: succeeded").wait_for()
        shot(page, "infrastructure")
        (task,) = sent
        assert task["application"] == "shop"
        (job,) = task["job"]
        assert {
            k: job[k]
            for k in ("type", "serverGroupName", "region", "credentials", "cloudProvider", "capacity")
        } == {
            "type": "resizeServerGroup",
            "serverGroupName": "shop-api-v003",
            "region": "host1",
            "credentials": "local-dev",
            "cloudProvider": "local",
            "capacity": {"min": 2, "desired": 3, "max": 4},
        }
    finally:
        page.unroute_all()


def test_canary_report_shows_why_a_canary_failed(page: Any, server: Server, shop: dict[str, str]) -> None:
    """Canary analysis is not part of this package; the browser is given Gate's /v2/canaries and
    /v2/canaryConfig answers in Kayenta's documented shapes (reference/kayenta-canary.md §3)."""
    page.goto("/ui/applications/shop/canary")
    if server.api("GET", "/v2/canaryConfig?application=shop").status_code == 404:
        page.get_by_text("No canary analysis configured").wait_for()
    judge = {
        "judgeName": "NetflixACAJudge-v1.0",
        "score": {"score": 0.0, "classification": "Fail", "classificationReason": ""},
        "groupScores": [{"name": "errors", "score": 0.0}],
        "results": [
            {
                "name": "5xx rate",
                "id": "pair-1",
                "classification": "High",
                "classificationReason": "5xx rate was classified as High",
                "critical": True,
                "controlMetadata": {"stats": {"mean": 1.2}},
                "experimentMetadata": {"stats": {"mean": 2.5}},
            }
        ],
    }
    run = {
        "pipelineId": "run-1",
        "status": "succeeded",
        "complete": True,
        "metricSetPairListId": "pairs-1",
        "config": {"name": "api"},
        "result": {"judgeResult": judge},
    }
    page.route(
        "**/v2/canaryConfig?application=shop",
        lambda r: _json(r, [{"id": "cfg-1", "name": "api", "applications": ["shop"]}]),
    )
    page.route("**/v2/canaries/shop/executions?*", lambda r: _json(r, [run]))
    page.route("**/v2/canaries/canary/run-1", lambda r: _json(r, run))
    page.route(
        "**/v2/canaries/metricSetPairList/pairs-1",
        lambda r: _json(
            r,
            [
                {
                    "id": "pair-1",
                    "name": "5xx rate",
                    "values": {"control": [1, 1.2, 1.1, 1.4], "experiment": [2, 2.6, 2.4, 3]},
                }
            ],
        ),
    )
    try:
        page.reload()
        page.get_by_role("button", name="run-1").click()
        metric = page.locator("section.metric")
        metric.get_by_text("5xx rate was classified as High").wait_for()
        assert "▲ 5xx rate — High (critical)" in metric.inner_text()
        assert metric.locator("svg polyline").count() == 2
        assert "✕ Fail" in page.locator(".report").inner_text()
        shot(page, "canary")
    finally:
        page.unroute_all()


def test_sign_in_with_a_password(browser: Any, tmp_path: Path) -> None:
    from gennaker.authn.passwords import hash_password

    (tmp_path / "gennaker.toml").write_text(
        f'[auth]\nenabled = true\n[[auth.users]]\nname = "alice"\npassword_hash = "{hash_password("s3cret", iterations=1000)}"\n'
    )
    secured = Server(tmp_path, env={"GENNAKER_CONFIG": str(tmp_path / "gennaker.toml")})
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=secured.url)
    try:
        tab = context.new_page()
        tab.goto("/ui/")
        tab.wait_for_url("**/ui/login")
        tab.get_by_label("User name").fill("alice")
        tab.get_by_label("Password").fill("wrong")
        tab.get_by_role("button", name="Sign in").click()
        tab.get_by_text("Wrong user name or password.").wait_for()
        shot(tab, "login")
        tab.get_by_label("Password").fill("s3cret")
        tab.get_by_role("button", name="Sign in").click()
        tab.wait_for_url("**/ui/")
        tab.get_by_text("Signed in as").wait_for()
        assert "gnk_" not in tab.url
        cookie = next(c for c in context.cookies() if c["name"] == "gennaker_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        # The page's own requests work with the cookie; a script-less cross-site POST does not.
        assert secured.api("GET", "/applications").status_code == 401
        tab.get_by_role("button", name="Sign out").click()
        tab.wait_for_url("**/ui/login")
        assert (
            secured.api(
                "GET", "/applications", headers={"Authorization": f"Bearer {cookie['value']}"}
            ).status_code
            == 401
        )
    finally:
        context.close()
        secured.stop()
