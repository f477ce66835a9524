"""Web UI benchmark: how fast pages render and how soon a stage's change shows in an open page.

pages   an application with 100 pipelines and 1,000 finished executions (5 stages each): the
        pipelines page (5 and 10 executions per pipeline), and the page of a 100-stage fan-out
        execution (first render lays the graph out; later ones reuse the layout)
live    a real `gennaker up` and Debian's chromium: the time from judging a manual judgment
        through the API until the open execution page shows the next stage running

  .venv/bin/python bench/web.py                # both
  .venv/bin/python bench/web.py --only pages
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _stages(n: int) -> list[dict[str, Any]]:
    return [{"refId": "1", "type": "wait", "name": "s1", "waitTime": 0}] + [
        {
            "refId": str(i),
            "requisiteStageRefIds": [str(i - 1)],
            "type": "wait",
            "name": f"s{i}",
            "waitTime": 0,
        }
        for i in range(2, n + 1)
    ]


def _timed(call: Any, repeat: int) -> tuple[float, float]:
    """(first, median of the rest) in milliseconds."""
    times = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times[0], statistics.median(times[1:])


def pages(repeat: int) -> None:
    from tests.api.live import SyncClient

    from gennaker.api import create_app
    from gennaker.testing import make_services, run_until_idle

    with tempfile.TemporaryDirectory() as tmp:
        services = make_services(f"sqlite:///{tmp}/bench.db")
        client = SyncClient(create_app(services))
        client.post("/applications", json={"name": "big", "email": "team@example.com"})
        for p in range(100):
            config = client.post(
                "/pipelines", json={"application": "big", "name": f"pipeline-{p:03d}", "stages": _stages(5)}
            ).json()
            for _ in range(10):
                services.launcher.start_pipeline(config, {"type": "manual", "user": "bench"})
        fan = {
            "application": "big",
            "name": "fanout",
            "stages": [{"refId": "start", "type": "wait", "name": "start", "waitTime": 0}]
            + [
                {
                    "refId": f"m{i}",
                    "requisiteStageRefIds": ["start"],
                    "type": "wait",
                    "name": f"m{i}",
                    "waitTime": 0,
                }
                for i in range(98)
            ]
            + [
                {
                    "refId": "join",
                    "requisiteStageRefIds": [f"m{i}" for i in range(98)],
                    "type": "wait",
                    "name": "join",
                    "waitTime": 0,
                }
            ],
        }
        fan_config = client.post("/pipelines", json=fan).json()
        fan_id = services.launcher.start_pipeline(fan_config, {"type": "manual"}).id
        started = time.perf_counter()
        run_until_idle(services)
        print(f"set-up: 1,001 executions run in {time.perf_counter() - started:.1f} s")

        def get(path: str) -> None:
            response = client.get(path)
            assert response.status_code == 200, response.text[:200]

        rows = [
            ("pipelines page, 5 per pipeline (500 rows)", "/ui/applications/big/executions"),
            ("pipelines page, 10 per pipeline (1,000 rows)", "/ui/applications/big/executions?count=10"),
            ("execution page, 100-stage fan-out", f"/ui/applications/big/executions/{fan_id}"),
            ("applications page", "/ui/"),
        ]
        print("| page | first ms | median ms |\n|---|---|---|")
        for label, path in rows:
            first, median = _timed(lambda path=path: get(path), repeat)
            print(f"| {label} | {first:.0f} | {median:.0f} |")
        client.close()
        services.close()


def live(repeat: int) -> None:
    from tests.web.conftest import CHROMIUM, Server

    if not Path(CHROMIUM).exists():
        print(f"live: skipped, no {CHROMIUM}")
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            server.api("POST", "/applications", json={"name": "shop", "email": "team@example.com"})
            config = {
                "application": "shop",
                "name": "judged",
                "stages": [
                    {"refId": "1", "type": "manualJudgment", "name": "Approve"},
                    {
                        "refId": "2",
                        "requisiteStageRefIds": ["1"],
                        "type": "wait",
                        "name": "After",
                        "waitTime": 600,
                    },
                ],
            }
            server.api("POST", "/pipelines", json=config)
            latencies = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                for _ in range(repeat):
                    ref = server.api("POST", "/pipelines/shop/judged", json={}).json()["ref"]
                    execution_id = ref.rsplit("/", 1)[1]
                    page.goto(f"{server.url}/ui/applications/shop/executions/{execution_id}")
                    page.locator('a.node[data-ref-id="1"][data-status="RUNNING"]').wait_for()
                    page.locator("[data-live-state].ok").wait_for()
                    stage_id = next(
                        s["id"]
                        for s in server.api("GET", f"/pipelines/{execution_id}").json()["stages"]
                        if s["refId"] == "1"
                    )
                    start = time.perf_counter()
                    server.api(
                        "PATCH",
                        f"/pipelines/{execution_id}/stages/{stage_id}",
                        json={"judgmentStatus": "continue"},
                    )
                    page.locator('a.node[data-ref-id="2"][data-status="RUNNING"]').wait_for()
                    latencies.append((time.perf_counter() - start) * 1000)
                    server.api("PUT", f"/pipelines/{execution_id}/cancel")
                browser.close()
            print(
                f"live: judge -> next stage RUNNING in the open page: median {statistics.median(latencies):.0f} ms, "
                f"max {max(latencies):.0f} ms over {len(latencies)} runs"
            )
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("pages", "live"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.only in (None, "pages"):
        pages(args.repeat)
    if args.only in (None, "live"):
        live(args.repeat)


if __name__ == "__main__":
    main()
