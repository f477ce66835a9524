"""The API's resources, one module each; every module listed here exposes ``router`` (a FastAPI
APIRouter) and the app factory mounts them in this order.

Add a module here in the same commit that creates it.

A module listed in LAZY_PREFIXES is imported on the first request under one of its path prefixes
(gennaker.api.lazy_routes): keep the prefixes in step with its paths (a test checks them).
"""

from __future__ import annotations

ROUTER_MODULES: tuple[str, ...] = (
    "gennaker.api.routes.health",
    "gennaker.api.routes.auth",
    "gennaker.api.routes.applications",
    "gennaker.api.routes.pipeline_configs",
    "gennaker.api.routes.strategies",
    "gennaker.api.routes.templates",
    "gennaker.api.routes.gitops",
    "gennaker.api.routes.policies",
    "gennaker.api.routes.expressions",
    "gennaker.api.routes.triggering",
    "gennaker.api.routes.executions",
    "gennaker.api.routes.operations",
    "gennaker.api.routes.tasks",
    "gennaker.api.routes.stage_extras",
    "gennaker.api.routes.stream",
    "gennaker.api.routes.webhooks",
    "gennaker.api.routes.events",
    "gennaker.api.routes.credentials",
    "gennaker.api.routes.artifacts",
    "gennaker.api.routes.infrastructure",
    "gennaker.api.routes.manifests",
    "gennaker.api.routes.cache",
    "gennaker.api.routes.prometheus_sd",
    "gennaker.api.routes.projects",
    "gennaker.api.routes.notifications",
    "gennaker.api.routes.search",
    "gennaker.api.routes.capabilities",
    "gennaker.api.routes.kayenta",
    "gennaker.api.routes.canaries",
    # The web UI (served from the same process and port; the engine never imports it).
    "gennaker.web.routes",
)

#: Modules built on first use, with the path prefixes that cover all of their routes.
LAZY_PREFIXES: dict[str, tuple[str, ...]] = {
    "gennaker.api.routes.templates": ("/v2/pipelineTemplates",),
    "gennaker.api.routes.gitops": ("/gitops",),
    "gennaker.api.routes.kayenta": (
        "/canary",
        "/canaryConfig",
        "/judges",
        "/kayenta",
        "/metadata/metricsService",
        "/metricSetPairList",
        "/metricsServices",
        "/standalone_canary_analysis",
    ),
    "gennaker.api.routes.canaries": ("/v2/canaries", "/v2/canaryConfig"),
    "gennaker.web.routes": ("/", "/ui"),
}
