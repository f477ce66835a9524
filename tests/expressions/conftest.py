"""A pipeline execution in Spinnaker's execution-JSON shape, the root a stage of it sees, and
shortcuts to evaluate against them. Time is the frozen clock's (2023-11-14T22:13:20Z, a Tuesday)."""

from __future__ import annotations

import copy
import http.server
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from gennaker.clock import FrozenClock
from gennaker.expressions import EvaluationContext, build_root, evaluate_in

NOW_MS = 1_700_000_000_000

EXECUTION: dict[str, Any] = {
    "id": "01HEXEC0000000000000000000",
    "type": "PIPELINE",
    "application": "myapp",
    "name": "Deploy to prod",
    "status": "RUNNING",
    "pipelineConfigId": "cfg-1",
    "authentication": {"user": "alice@example.com", "allowedAccounts": ["prod"]},
    "trigger": {
        "type": "jenkins",
        "user": "alice@example.com",
        "correlationId": "corr-1",
        "dryRun": False,
        "parameters": {
            "env": "prod",
            "regions": "us-east-1,us-west-2,eu-west-1",
            "count": "3",
            "runCanary": "true",
            "blank": "",
        },
        "buildInfo": {
            "number": 42,
            "url": "http://jenkins/job/app/42",
            "scm": [
                {"branch": "master", "sha1": "aaa111"},
                {"branch": "feature/new-release", "sha1": "bbb222"},
            ],
        },
        "properties": {"version": "0.1.0"},
        "resolvedExpectedArtifacts": [
            {
                "id": "ea-1",
                "boundArtifact": {
                    "type": "docker/image",
                    "name": "gcr.io/project/app",
                    "reference": "gcr.io/project/app:1.2.3",
                    "version": "1.2.3",
                },
            },
            {
                "id": "ea-2",
                "boundArtifact": {
                    "type": "s3/object",
                    "name": "s3://bucket/app.zip",
                    "reference": "s3://bucket/app.zip",
                },
            },
        ],
    },
    "stages": [
        {
            "id": "s1",
            "refId": "1",
            "type": "bake",
            "name": "Bake",
            "status": "SUCCEEDED",
            "startTime": 1_699_999_000_000,
            "endTime": 1_699_999_100_000,
            "context": {"package": "app", "baseOs": "bionic", "region": "us-east-1"},
            "outputs": {
                "artifacts": [{"type": "aws/image", "name": "app-ami", "reference": "ami-123"}],
                "deploymentDetails": [{"ami": "ami-123", "region": "us-east-1"}],
            },
            "requisiteStageRefIds": [],
        },
        {
            "id": "s2",
            "refId": "2",
            "type": "manualJudgment",
            "name": "Approve",
            "status": "SUCCEEDED",
            "context": {"judgmentInput": "ship it", "judgmentStatus": "continue"},
            "outputs": {},
            "requisiteStageRefIds": ["1"],
        },
        {
            "id": "s3",
            "refId": "3",
            "type": "deploy",
            "name": "Deploy",
            "status": "SUCCEEDED",
            "context": {"clusters": [{"account": "prod"}]},
            "outputs": {},
            "requisiteStageRefIds": ["2"],
        },
        {
            "id": "s4",
            "refId": "3<1",
            "type": "createServerGroup",
            "name": "Deploy in us-east-1",
            "status": "SUCCEEDED",
            "parentStageId": "s3",
            "syntheticStageOwner": "STAGE_BEFORE",
            "context": {
                "account": "prod",
                "availabilityZones": {"us-east-1": ["us-east-1a", "us-east-1b"]},
                "capacity": {"desired": 2, "max": 3, "min": 1},
                "deploy.server.groups": {"us-east-1": ["app-prod-v003"]},
                "deploymentDetails": [{"ami": "ami-123", "region": "us-east-1"}],
                "kato.tasks": [{"resultObjects": [{"deployments": [{"serverGroupName": "app-prod-v003"}]}]}],
            },
            "outputs": {"artifacts": [{"type": "aws/serverGroup", "name": "app-prod-v003"}]},
        },
        {
            "id": "s5",
            "refId": "3<2",
            "type": "createServerGroup",
            "name": "Deploy in us-west-2",
            "status": "TERMINAL",
            "parentStageId": "s3",
            "context": {
                "account": "prod",
                "region": "us-west-2",
                "deploy.server.groups": {"us-west-2": ["app-prod-v007"]},
            },
            "outputs": {},
        },
        {
            "id": "s6",
            "refId": "4",
            "type": "wait",
            "name": "Wait",
            "status": "RUNNING",
            "context": {"waitTime": 30},
            "outputs": {},
            "requisiteStageRefIds": ["3"],
        },
        {
            "id": "s7",
            "refId": "5",
            "type": "deployManifest",
            "name": "Deploy manifest",
            "status": "SUCCEEDED",
            "context": {
                "outputs.manifests": [
                    {"kind": "Service", "metadata": {"name": "svc"}},
                    {
                        "kind": "Deployment",
                        "spec": {"template": {"metadata": {"labels": {"app": "web", "tier": "frontend"}}}},
                    },
                ]
            },
            "outputs": {},
        },
    ],
}

STAGE_CONTEXT: dict[str, Any] = {
    "waitTime": 30,
    "account": "prod",
    "region": "us-east-1",
    "count": 3,
    "ratio": 0.5,
    "big": 3_000_000_000,
    "enabled": True,
    "disabled": False,
    "nothing": None,
    "emptyString": "",
    "text": "Hello, World",
    "withUpperCase": "baconBacon",
    "replaceTest": "stack-with-hyphens",
    "version": "v1.2.3",
    "csv": "a,b,,c,,",
    "list": [1, 2, 3, 4, 5],
    "words": ["apple", "banana", "cherry"],
    "tags": {"team": "core", "cost-center": "42"},
    "nested": {"a": {"b": "deep"}, "list": [{"x": 1}, {"x": 2}]},
    "people": [
        {"name": "ann", "age": 31, "admin": True},
        {"name": "bob", "age": 17, "admin": False},
        {"name": "cid", "age": 45, "admin": False},
    ],
    "testArray": ["good", {"arrayVal": "bad"}, [{"one": "two"}]],
    "json": '{"development": "dev", "staging": "stage", "production": "prod"}',
    "yaml": "a: 1\nb: [x, y]\nwhen: 2020-01-01\n",
}


def stage_context() -> dict[str, Any]:
    """A fresh copy of the stage context."""
    return copy.deepcopy(STAGE_CONTEXT)


def make_ctx(
    context: Mapping[str, Any] | None = None, execution: Mapping[str, Any] | None = None, **opts: Any
) -> EvaluationContext:
    """A stage-time context for the Wait stage of EXECUTION, on a frozen clock."""
    execution = EXECUTION if execution is None else execution
    root = build_root(STAGE_CONTEXT if context is None else context, execution=execution)
    opts.setdefault("clock", FrozenClock(NOW_MS))
    opts.setdefault("current_stage", execution["stages"][5] if execution.get("stages") else None)
    return EvaluationContext(root=root, execution=execution, **opts)


def ev(text: str, **opts: Any) -> Any:
    """Evaluate a template; raise AssertionError with the summary when anything failed."""
    result = evaluate_in(text, make_ctx(**opts))
    if result.summary.has_failures:
        raise AssertionError(f"{text!r} failed: {result.summary.to_json()}")
    return result.value


def ev_error(text: str, **opts: Any) -> dict[str, Any]:
    """Evaluate a template expected to fail with an ERROR; return its one summary entry."""
    result = evaluate_in(text, make_ctx(**opts))
    assert result.value == text, f"{text!r} evaluated to {result.value!r}"
    entries = [e for es in result.summary.failures.values() for e in es]
    assert len(entries) == 1 and entries[0]["level"] == "ERROR", result.summary.to_json()
    return entries[0]


@pytest.fixture
def ctx() -> EvaluationContext:
    return make_ctx()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves fixed documents by path for the URL helper tests."""

    routes: dict[str, tuple[int, str, bytes]] = {}

    def do_GET(self) -> None:
        status, content_type, body = self.routes.get(self.path, (404, "text/plain", b"not found"))
        if status in (301, 302):
            self.send_response(status)
            self.send_header("Location", body.decode())
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that stop reading (the size limit) are expected here; stay quiet."""


@pytest.fixture
def http_server() -> Iterator[Callable[[str, int, str, bytes], str]]:
    """A real HTTP server on 127.0.0.1; call the fixture's value to add a route, get its URL."""
    routes: dict[str, tuple[int, str, bytes]] = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def route(path: str, status: int, content_type: str, body: bytes) -> str:
        routes[path] = (status, content_type, body)
        return f"http://127.0.0.1:{server.server_port}{path}"

    try:
        yield route
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
