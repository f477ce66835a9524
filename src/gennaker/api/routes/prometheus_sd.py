"""Prometheus HTTP service discovery of deployed instances (``http_sd_configs``), so Prometheus
scrapes every instance of every server group as they come and go, each labelled with its server
group, cluster and application: what a canary config's queries select by (``${scope}`` is the
server group's name). A Gennaker addition; Spinnaker leaves discovery to each cloud's own.

    scrape_configs:
      - job_name: gennaker
        http_sd_configs: [{url: "http://127.0.0.1:8084/prometheus/targets?application=hello"}]
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gennaker.api.deps import ServicesDep
from gennaker.api.models import ERRORS
from gennaker.api.responses import json_response
from gennaker.providers.protocol import INSTANCES

router = APIRouter(tags=["infrastructure"], responses=ERRORS)


@router.get("/prometheus/targets", response_model=list[dict[str, Any]])
def targets(
    services: ServicesDep,
    application: Annotated[str | None, Query(max_length=200)] = None,
    account: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    """One target group per instance with a port: ``[{targets: ["host:port"], labels: {...}}]``."""
    found = []
    for instance in services.clouddriver.cache.query(INSTANCES, application=application, account=account):
        port = instance.get("port")
        host = instance.get("privateIpAddress")
        if not isinstance(port, int) or not host:
            continue
        labels = {
            "application": instance.get("application"),
            "cluster": instance.get("cluster"),
            "server_group": instance.get("serverGroup"),
            "account": instance.get("account"),
            "region": instance.get("region"),
            "instance_id": instance.get("name"),
            "cloud_provider": instance.get("cloudProvider"),
        }
        found.append(
            {"targets": [f"{host}:{port}"], "labels": {k: str(v) for k, v in labels.items() if v is not None}}
        )
    return json_response(found)
