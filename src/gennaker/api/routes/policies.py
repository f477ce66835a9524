"""Policies: ``GET /policies`` lists them, ``POST /policies/evaluate`` is a dry run.

The dry run takes ``{"scope": "save" | "start" | "stage", "input": {...}}`` (the document the
scope's policies see, docs/policies.md), or for the save scope ``{"scope": "save", "pipeline":
{...}}`` (or ``"template"``), from which it builds that document as a save would."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body

from gennaker.api.deps import ServicesDep, UserDep
from gennaker.api.models import ERRORS
from gennaker.errors import FieldError, InvalidInput
from gennaker.policies import inputs
from gennaker.policies.evaluator import describe
from gennaker.policies.settings import SCOPES

router = APIRouter(prefix="/policies", tags=["policies"], responses=ERRORS)


@router.get("", response_model=list[dict[str, Any]])
def list_policies(services: ServicesDep) -> Any:
    """Every configured policy with its scopes, engine, rule and message."""
    return describe(services.policies.rules())


@router.post("/evaluate", response_model=dict[str, Any])
async def evaluate(
    services: ServicesDep, user: UserDep, body: Annotated[dict[str, Any], Body(description="scope and input")]
) -> Any:
    """Each policy of the scope on the given input: allow, deny or warn, with its message."""
    scope = body.get("scope")
    if scope not in SCOPES:
        raise InvalidInput("", [FieldError("$.scope", f"must be one of {', '.join(SCOPES)}")])
    document = body.get("input")
    for kind in ("pipeline", "template"):
        if document is None and scope == "save" and isinstance(body.get(kind), dict):
            document = inputs.save_input(body[kind], kind=kind, user=user)
    if not isinstance(document, dict):
        raise InvalidInput(
            "",
            [FieldError("$.input", "is required: the document the policies see (or, to save, a pipeline)")],
        )
    verdicts = await asyncio.to_thread(services.policies.evaluate, scope, document)
    return {
        "scope": scope,
        "allowed": not any(v.outcome == "deny" for v in verdicts),
        "verdicts": [v.to_json() for v in verdicts],
        "input": document,
    }
