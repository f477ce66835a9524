"""Built-in stage types, one module each, registered through the ``register_stages`` hook."""

from __future__ import annotations

from typing import Any

from gennaker.engine.registry import Registry
from gennaker.hookspecs import hookimpl
from gennaker.stages import (
    check_preconditions,
    evaluate_variables,
    execution_window,
    fail,
    manual_judgment,
    pipeline_stage,
    run_job,
    run_job_local,
    wait,
    webhook,
    webhook_preconfigured,
)
from gennaker.stages.cloud import (
    cache_refresh,
    cluster_stages,
    delete_image,
    deploy,
    images,
    load_balancer_stages,
    server_group_stages,
)


@hookimpl
def register_stages(registry: Registry, settings: Any) -> None:
    """Register Gennaker's built-in stage types."""
    for module in (
        wait,
        execution_window,
        fail,
        manual_judgment,
        check_preconditions,
        evaluate_variables,
        pipeline_stage,
        run_job,
        run_job_local,
        webhook,
        webhook_preconfigured,
        cache_refresh,
        deploy,
        server_group_stages,
        cluster_stages,
        load_balancer_stages,
        images,
        delete_image,
    ):
        module.register(registry, settings)
