"""Fixtures for notification tests: a real HTTP receiver on 127.0.0.1 (standing in for Slack's
incoming webhooks and for webhook endpoints), services whose settings point at it, and a
manualJudgment stage for engines that do not register the built-in one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.hookspecs import hookimpl
from gennaker.model.execution import Stage


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    """An HTTP server that records every POST and answers with scripted statuses."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    #: Statuses for the next requests, in order; 200 once the list is used up.
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            with state.lock:
                state.requests.append(
                    Received(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        orjson.loads(raw or b"null"),
                    )
                )
                status = state.statuses.pop(0) if state.statuses else 200
            body = b"ok" if status < 300 else b"invalid_payload"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


class _WaitForJudgment(BaseTask):
    """RUNNING until the context has a judgmentStatus (a stand-in with the built-in's contract)."""

    pure = True
    backoff_ms = 15_000

    async def execute(self, run: TaskRun) -> TaskResult:
        status = str(run.context.get("judgmentStatus") or "").lower()
        if status == "continue":
            return TaskResult.succeeded()
        if status == "stop":
            from gennaker.model.status import ExecutionStatus

            return TaskResult(ExecutionStatus.TERMINAL, {}, {})
        return TaskResult.running()


class _ManualJudgmentStage(BaseStage):
    type = "manualJudgment"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        return [TaskSpec("waitForJudgment", "testWaitForJudgmentTask")]


class ManualJudgmentFallback:
    """Registers a manualJudgment stage only when the built-in stages did not."""

    @hookimpl(trylast=True)
    def register_stages(self, registry: Registry, settings: Any) -> None:
        if not registry.has_stage("manualJudgment"):
            registry.add_task("testWaitForJudgmentTask", _WaitForJudgment())
            registry.add_stage(_ManualJudgmentStage())
