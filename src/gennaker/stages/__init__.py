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
    cluster_support,
    deploy,
    disable_cluster,
    images,
    load_balancer_stages,
    pin_server_group,
    rollback_cluster,
    rollback_server_group,
    scale_down_cluster,
    server_group_stages,
    shrink_cluster,
    source_capacity,
    targets,
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
        deploy,
        server_group_stages,
        pin_server_group,
        source_capacity,
        cluster_support,
        disable_cluster,
        scale_down_cluster,
        shrink_cluster,
        targets,
        rollback_server_group,
        rollback_cluster,
        load_balancer_stages,
        images,
    ):
        module.register(registry, settings)
