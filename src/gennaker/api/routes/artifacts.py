"""Gate's artifact resource: ``GET /artifacts/credentials`` (the artifact accounts, as Deck's
artifact editors list them) and ``PUT /artifacts/fetch`` (an artifact's content, for the artifact
kinds Gennaker downloads: embedded/base64, http/file, git/repo)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from gennaker.api.deps import ServicesDep
from gennaker.api.models import ERRORS
from gennaker.api.responses import json_response
from gennaker.artifacts import ArtifactError

router = APIRouter(tags=["artifacts"], responses=ERRORS)


@router.get("/artifacts/credentials", response_model=list[dict[str, Any]])
def list_artifact_credentials(services: ServicesDep) -> Any:
    """Every artifact account: ``[{name, types, type}]``."""
    return json_response(services.artifacts.credentials())


@router.put("/artifacts/fetch", response_class=Response)
def fetch_artifact(
    services: ServicesDep,
    artifact: Annotated[Any, Body(description="the artifact: type, reference, artifactAccount, ...")],
) -> Response:
    """The artifact's bytes (404 when no account of that name handles its type)."""
    if not isinstance(artifact, dict):
        raise ArtifactError("the request body must be an artifact (a JSON object)")
    return Response(services.artifacts.fetch(artifact), media_type="application/octet-stream")


@router.get("/artifacts/account/{account}/names", response_model=list[str])
def artifact_names(account: str, type: str, services: ServicesDep) -> Any:
    """Names an account can list; none of the supported kinds lists names (Clouddriver: helm, ...)."""
    found = services.artifacts.account_for({"type": type, "artifactAccount": account})
    raise ArtifactError(
        f"Artifact names are not supported for artifact types that '{found.name}' account handles"
    )
