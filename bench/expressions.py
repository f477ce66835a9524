"""Expression evaluation speed: parse/compile, cached lookups, single expressions, and a typical
stage context of 20 templated fields. Run: .venv/bin/python bench/expressions.py"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from typing import Any

from gennaker.clock import FrozenClock
from gennaker.expressions import (
    EvaluationContext,
    build_root,
    compile_expression,
    evaluate_condition,
    evaluate_in,
    evaluate_object,
    evaluate_stage_context,
)
from gennaker.expressions.compiler import _compile_cached
from gennaker.expressions.templates import _compile_template

EXECUTION: dict[str, Any] = {
    "id": "01HBENCH",
    "type": "PIPELINE",
    "application": "myapp",
    "name": "Deploy",
    "status": "RUNNING",
    "authentication": {"user": "alice@example.com"},
    "trigger": {
        "type": "manual",
        "user": "alice@example.com",
        "parameters": {"env": "prod", "regions": "us-east-1,us-west-2", "count": "3", "canary": "true"},
        "buildInfo": {"number": 42, "scm": [{"branch": "main", "sha1": "abc1234def"}]},
    },
    "stages": [
        {
            "id": f"s{i}",
            "refId": str(i),
            "type": "deploy" if i % 3 == 0 else "wait",
            "name": f"Stage {i}",
            "status": "SUCCEEDED" if i < 8 else "RUNNING",
            "context": {"account": "prod", "region": "us-east-1", "waitTime": i},
            "outputs": {"artifacts": [{"name": f"a{i}", "reference": f"ref-{i}"}]},
        }
        for i in range(10)
    ],
}

CONTEXT: dict[str, Any] = {
    "name": "${trigger.parameters.env}-deploy",
    "account": "${parameters.env}",
    "region": "${parameters.regions.split(',')[0]}",
    "regions": "${parameters.regions.split(',')}",
    "stack": "${#alphanumerical(scmInfo.branch)}",
    "build": "${trigger.buildInfo.number}",
    "image": "myapp:${trigger.buildInfo.number}-${scmInfo.sha1.substring(0, 7)}",
    "capacity": {
        "min": "${#toInt(parameters.count)}",
        "max": "${#toInt(parameters.count) * 2}",
        "desired": 3,
    },
    "canary": "${parameters.canary == 'true'}",
    "previous": "${#stage('Stage 3')['status']}",
    "succeeded": "${#stage('Stage 3').hasSucceeded}",
    "deploys": "${execution.stages.?[type == 'deploy'].size()}",
    "refs": "${execution.stages.![refId]}",
    "user": "${execution.authentication.user}",
    "label": "app=${execution.application},env=${parameters.env}",
    "timeout": "${waitTime * 60}",
    "enabled": "${parameters['env'] == 'prod' ? true : false}",
    "fallback": "${parameters.missing ?: 'default'}",
    "artifact": "${#stage('Stage 1').outputs.artifacts[0].reference}",
    "tags": ["${parameters.env}", "static", "${execution.name}"],
    "waitTime": 30,
    "cloudProvider": "aws",
    "strategy": "redblack",
}


def _ctx() -> EvaluationContext:
    root = build_root(CONTEXT, execution=EXECUTION)
    return EvaluationContext(
        root=root, execution=EXECUTION, current_stage=EXECUTION["stages"][9], clock=FrozenClock()
    )


def measure(fn: Callable[[], object], *, repeat: int = 7, number: int = 0) -> float:
    """Best-of-``repeat`` seconds per call."""
    if number == 0:
        number = 1
        while True:
            start = time.perf_counter()
            for _ in range(number):
                fn()
            if time.perf_counter() - start > 0.2:
                break
            number *= 2
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        timings.append((time.perf_counter() - start) / number)
    return min(timings)


def _cold_compile(text: str) -> None:
    _compile_cached.cache_clear()
    _compile_template.cache_clear()
    compile_expression(text)


def fmt(seconds: float) -> str:
    return f"{seconds * 1e6:9.2f} µs"


def main() -> None:
    ctx = _ctx()
    fields = sum(1 for v in CONTEXT.values() if isinstance(v, str) and "${" in v) + 4
    typical = "#stage('Stage 3')['context']['account'] + '-' + parameters.env"
    rows = [
        ("parse + compile, cold (typical expression)", measure(lambda: _cold_compile(typical), number=200)),
        ("compile_expression, cached", measure(lambda: compile_expression(typical))),
        (
            "evaluate '${trigger.parameters.env}'",
            measure(lambda: evaluate_in("${trigger.parameters.env}", ctx)),
        ),
        ("evaluate typical expression", measure(lambda: evaluate_in("${" + typical + "}", ctx))),
        (
            "evaluate selection + projection",
            measure(lambda: evaluate_in("${execution.stages.?[status == 'SUCCEEDED'].![name]}", ctx)),
        ),
        (
            "evaluate_condition 'parameters.env == \"prod\"'",
            measure(lambda: evaluate_condition("parameters.env == 'prod'", ctx)),
        ),
        (
            f"evaluate_object, stage context of {fields} templated fields",
            measure(lambda: evaluate_object(CONTEXT, ctx)),
        ),
        (
            f"evaluate_stage_context, same {fields} fields",
            measure(lambda: evaluate_stage_context(CONTEXT, ctx)),
        ),
    ]
    result, summary = evaluate_object(CONTEXT, ctx)
    assert not summary.has_failures, summary.to_json()
    print(f"Python {platform.python_version()} on {platform.machine()} ({sys.platform}); best of 7 runs")
    for label, seconds in rows:
        print(f"{fmt(seconds)}  {label}")
    per_field = rows[6][1] / fields
    print(f"{fmt(per_field)}  per templated field in the stage context")
    print(f"steady-state stage contexts per second: {1 / rows[6][1]:,.0f}")


if __name__ == "__main__":
    main()
