"""Built-in stage types, one module each, registered through the ``register_stages`` hook."""

from __future__ import annotations

from typing import Any

from gennaker.engine.registry import Registry
from gennaker.hookspecs import hookimpl
from gennaker.stages import (
    bake_manifest,
    bind_artifacts,
    check_preconditions,
    evaluate_variables,
    execution_window,
    fail,
    manual_judgment,
    pipeline_stage,
    run_job,
    run_job_kubernetes,
    run_job_local,
    wait,
    webhook,
    webhook_preconfigured,
)
from gennaker.stages.cloud import (
    cache_refresh,
    cluster_support,
    delete_image,
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
from gennaker.stages.manifest import deploy_manifest, manifest_stages


@hookimpl
def register_stages(registry: Registry, settings: Any) -> None:
    """Register Gennaker's built-in stage types."""
    for module in (
        bind_artifacts,
        bake_manifest,
        wait,
        execution_window,
        fail,
        manual_judgment,
        check_preconditions,
        evaluate_variables,
        pipeline_stage,
        run_job,
        run_job_local,
        run_job_kubernetes,
        webhook,
        webhook_preconfigured,
        cache_refresh,
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
        deploy_manifest,
        manifest_stages,
        delete_image,
    ):
        module.register(registry, settings)
