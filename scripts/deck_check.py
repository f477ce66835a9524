#!/usr/bin/env python3
"""Drive a build of Spinnaker's Deck against a real ``gennaker up`` in headless Chromium and report,
per screen and per action, every console error, uncaught page error and failed API call.

Deck is not part of this repository: build it first (docs/deck.md, "Building Deck"), then

    .venv/bin/python scripts/deck_check.py --deck /path/to/deck

It starts ``gennaker up`` on a free port with its own data directory and Deck's origin allowed
(``GENNAKER_CORS_ALLOWED_ORIGINS``), serves ``<deck>/build/webpack`` on another port, points
Deck's ``gateUrl`` at Gennaker (through ``settings-local.js``) and serves the two jQuery scripts
Deck's page loads from code.jquery.com from local copies, so nothing leaves the machine. It
creates an application and a pipeline through the API, then visits the main screens and uses the
application config (edit attributes, add a notification, turn a feature off), the pipeline editor
(change a wait time, save), the manual execution dialog, a manual judgment and a cancel, checking
through the API that each took effect. Screenshots go to the run's directory. Exit status 1 when
anything went wrong.

Files Deck itself does not build (``version.json``) answer 404 from the static server; those are
reported apart, as Deck's, not Gennaker's.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

GENNAKER = str(Path(sys.executable).with_name("gennaker"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PIPELINE = {
    "application": "shop",
    "name": "deploy",
    "parameterConfig": [{"name": "env", "default": "test", "description": "where to"}],
    "stages": [
        {"refId": "1", "type": "wait", "name": "Wait", "waitTime": 1, "requisiteStageRefIds": []},
        {"refId": "2", "type": "manualJudgment", "name": "Judge", "requisiteStageRefIds": ["1"]},
    ],
    "triggers": [],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Run:
    """One gennaker up, one static server for Deck, and what went wrong."""

    def __init__(self, deck: Path, work: Path) -> None:
        self.deck = deck
        self.work = work
        self.deck_port, api_port = free_port(), free_port()
        self.api = f"http://127.0.0.1:{api_port}"
        self.origin = f"http://127.0.0.1:{self.deck_port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")}
        self.env.update(
            GENNAKER_DATABASE_URL=f"sqlite:///{work / 'gennaker.db'}",
            GENNAKER_DATA_DIR=tempfile.mkdtemp(prefix="gk-"),
            GENNAKER_PORT=str(api_port),
            GENNAKER_CORS_ALLOWED_ORIGINS=self.origin,
        )
        self.problems: list[str] = []
        self.deck_missing: set[str] = set()
        self.events: list[str] = []

    def start(self) -> None:
        log = (self.work / "up.log").open("w")
        self.proc = subprocess.Popen(
            [GENNAKER, "up"], cwd=self.work, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.api}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"gennaker up did not start; see {self.work / 'up.log'}")
            time.sleep(0.1)
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None  # type: ignore[method-assign]
        handler = functools.partial(
            http.server.SimpleHTTPRequestHandler, directory=str(self.deck / "build/webpack")
        )
        self.static = http.server.ThreadingHTTPServer(("127.0.0.1", self.deck_port), handler)
        threading.Thread(target=self.static.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.static.shutdown()
        self.proc.terminate()
        self.proc.wait(20)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, self.api + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def check(self, ok: bool, what: str) -> None:
        print(("  ok   " if ok else "  FAIL ") + what)
        if not ok:
            self.problems.append(what)

    def until(self, done: Callable[[], bool], seconds: float = 20) -> bool:
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.3)
        return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deck", type=Path, required=True, help="Deck's source tree, built (build/webpack)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument(
        "--jquery-ui", type=Path, help="a local jquery-ui.min.js 1.12.1 (npm package jquery-ui-dist)"
    )
    parser.add_argument("--settle-ms", type=int, default=5000, help="how long a screen may load")
    args = parser.parse_args()
    deck = args.deck.resolve()
    jquery = deck / "node_modules/jquery/dist/jquery.min.js"
    jquery_ui = args.jquery_ui or next(iter(deck.glob("node_modules/jquery-ui-dist/jquery-ui.min.js")), None)
    if not (deck / "build/webpack/index.html").exists():
        raise SystemExit(f"{deck}/build/webpack/index.html is missing: build Deck first (docs/deck.md)")
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="deck-check-"))
    run = Run(deck, work)
    run.start()
    print(f"gennaker up at {run.api}, Deck at {run.origin}, files in {work}")
    try:
        run.call("POST", "/applications", {"name": "shop", "email": "team@example.com"})
        run.call("POST", "/pipelines", PIPELINE)
        run.call("POST", "/pipelines/shop/deploy", {"type": "manual"})
        settings = (
            f"window.spinnakerSettings.gateUrl = {json.dumps(run.api)};"
            "window.spinnakerSettings.authEnabled = false;"
            "window.spinnakerSettings.feature.quietPeriod = false;"
            "window.spinnakerSettings.notifications = {email: {enabled: true}, slack: {enabled: true, botName: 'gennaker'}};"
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})

            def on_response(response: Any) -> None:
                if response.status < 400:
                    return
                if response.url.startswith(run.origin):
                    run.deck_missing.add(response.url[len(run.origin) :].split("?")[0])
                else:
                    run.events.append(f"HTTP {response.status} {response.request.method} {response.url}")

            def on_console(message: Any) -> None:
                # The static server's own 404s are reported apart (Deck's files, not Gennaker's).
                if message.type == "error" and "File not found" not in message.text:
                    run.events.append(f"console error: {message.text[:300]}")

            page.on("response", on_response)
            page.on("console", on_console)
            page.on("pageerror", lambda error: run.events.append(f"page error: {str(error)[:300]}"))
            page.route(
                "**/settings-local.js*", lambda r: r.fulfill(body=settings, content_type="text/javascript")
            )
            page.route("https://www.google-analytics.com/**", lambda r: r.abort())
            page.route(
                "https://code.jquery.com/jquery-3.5.1.min.js",
                lambda r: r.fulfill(path=str(jquery), content_type="text/javascript"),
            )
            if jquery_ui is not None:
                page.route(
                    "https://code.jquery.com/ui/1.12.1/jquery-ui.min.js",
                    lambda r: r.fulfill(path=str(jquery_ui), content_type="text/javascript"),
                )

            def settle(name: str) -> None:
                page.wait_for_timeout(args.settle_ms)
                page.screenshot(path=str(work / f"{name}.png"))
                run.check(
                    not run.events,
                    f"{name}: no console, page or API error"
                    + "".join(f"\n         {e}" for e in dict.fromkeys(run.events)),
                )
                run.events.clear()

            def act(name: str, action: Callable[[], None]) -> None:
                try:
                    action()
                except Exception as exc:  # reported; the run goes on
                    run.check(False, f"{name}: {str(exc).splitlines()[0]}")
                settle(name)

            pipeline_id = run.call("GET", "/applications/shop/pipelineConfigs/deploy")["id"]
            for screen in (
                "applications",
                "applications/shop/executions",
                "applications/shop/clusters",
                "applications/shop/loadBalancers",
                "applications/shop/firewalls",
                "applications/shop/tasks",
                "applications/shop/config",
                f"applications/shop/executions/configure/{pipeline_id}",
                "search?q=shop",
                "projects",
                "infrastructure?q=shop",
            ):
                page.goto(f"{run.origin}/#/{screen}")
                settle(screen.replace("/", "_").replace("?", "_"))

            print("application config")
            page.goto(f"{run.origin}/#/applications/shop/config")
            settle("config")
            act("edit attributes", lambda: page.get_by_text("Edit Application Attributes").click())
            act("description", lambda: page.locator(".modal textarea").first.fill("the shop"))
            act("update", lambda: page.locator(".modal-footer button", has_text="Update").first.click())
            run.check(
                run.until(
                    lambda: (
                        run.call("GET", "/applications/shop")["attributes"].get("description") == "the shop"
                    )
                ),
                "the description is saved",
            )
            act("add notification", lambda: page.get_by_text("Add Notification Preference").click())
            # Email is the first type offered with the settings above.
            act(
                "address",
                lambda: page.locator(".modal input[type=text], .modal input[type=email]").first.fill(
                    "ops@example.com"
                ),
            )
            act("event", lambda: page.locator(".modal input[type=checkbox]").first.check())
            act(
                "update notification",
                lambda: page.locator(".modal-footer button", has_text="Update").first.click(),
            )
            run.check(
                run.until(lambda: bool(run.call("GET", "/notifications/application/shop").get("email"))),
                "the application's email notification is saved",
            )
            act("turn firewalls off", lambda: page.get_by_text("Firewalls", exact=True).last.click())
            act("save features", lambda: page.locator("button", has_text="Save Changes").first.click())
            run.check(
                run.until(
                    lambda: (
                        "securityGroups"
                        in (run.call("GET", "/applications/shop")["attributes"].get("dataSources") or {}).get(
                            "disabled", []
                        )
                    )
                ),
                "the disabled feature is saved",
            )

            print("pipeline editor")
            page.goto(f"{run.origin}/#/applications/shop/executions/configure/{pipeline_id}")
            settle("editor")
            act("select the wait stage", lambda: page.get_by_text("Wait", exact=True).first.click())
            act("wait time", lambda: page.locator("input[type=number]").first.fill("7"))
            act("save", lambda: page.locator("button", has_text="Save Changes").first.click())
            run.check(
                run.until(
                    lambda: (
                        run.call("GET", "/applications/shop/pipelineConfigs/deploy")["stages"][0].get(
                            "waitTime"
                        )
                        == 7
                    )
                ),
                "the new wait time is saved",
            )

            print("executions")
            page.goto(f"{run.origin}/#/applications/shop/executions")
            settle("executions")
            act("manual execution dialog", lambda: page.get_by_text("Start Manual Execution").nth(1).click())
            act("run", lambda: page.locator(".modal-footer button", has_text="Run").first.click())
            run.check(
                run.until(lambda: len(run.call("GET", "/applications/shop/pipelines")) == 2),
                "a second execution started",
            )
            act("execution details", lambda: page.get_by_text("Execution Details").first.click())
            act("judgment stage", lambda: page.get_by_text("Judge", exact=True).first.click())
            act("continue", lambda: page.locator("button", has_text="Continue").first.click())
            run.check(
                run.until(
                    lambda: (
                        "SUCCEEDED" in [e["status"] for e in run.call("GET", "/applications/shop/pipelines")]
                    ),
                    30,
                ),
                "the judged execution succeeded",
            )
            page.goto(f"{run.origin}/#/applications/shop/executions")
            settle("executions again")
            act("cancel", lambda: page.locator(".fa-times-circle").first.click())
            act("confirm cancel", lambda: page.locator(".modal-footer button.btn-primary").first.click())
            run.check(
                run.until(
                    lambda: (
                        "CANCELED" in [e["status"] for e in run.call("GET", "/applications/shop/pipelines")]
                    ),
                    30,
                ),
                "the other execution is canceled",
            )
            browser.close()
    finally:
        run.stop()
    if run.deck_missing:
        print(
            "files Deck's build does not contain (the static server's 404s): "
            + ", ".join(sorted(run.deck_missing))
        )
    print(f"{len(run.problems)} problem(s); screenshots and gennaker's log in {work}")
    return 1 if run.problems else 0


if __name__ == "__main__":
    sys.exit(main())
