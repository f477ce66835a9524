"""Application-level notifications (Gate's ``/notifications/{type}/{app}`` over Front50; only the
``application`` level exists) and ``GET /notifications/metadata``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from gennaker.api.deps import ServicesDep, UserDep
from gennaker.api.models import ERRORS
from gennaker.errors import NotFound

router = APIRouter(tags=["notifications"], responses=ERRORS)


def _level(level: str) -> None:
    if level.lower() != "application":
        raise NotFound(f"No hierarchical level matches '{level}' (only 'application')")


@router.get("/notifications/metadata", response_model=list[dict[str, Any]])
def notification_metadata() -> Any:
    """Echo's metadata of notification types contributed by plugins (Deck renders those from it);
    Gennaker's channels (email, slack, webhook) are Deck's built-in types, so the list is empty."""
    return []


@router.get("/notifications/{level}/{application}", response_model=dict[str, Any])
def get_notifications(level: str, application: str, services: ServicesDep) -> Any:
    """The application's notifications by type (``{application, email: [...], ...}``); ``{}`` if none."""
    _level(level)
    with services.db.read() as conn:
        return services.app_notifications.get(conn, application)


@router.post("/notifications/{level}/{application}", response_model=dict[str, Any])
def save_notifications(
    level: str,
    application: str,
    services: ServicesDep,
    user: UserDep,
    notifications: Annotated[dict[str, Any], Body(description="{email: [...], slack: [...], ...}")],
) -> Any:
    """Replace the application's notifications; they apply to every pipeline of the application."""
    _level(level)
    with services.db.transaction() as conn:
        return services.app_notifications.save(conn, application, notifications, user=user)


@router.delete("/notifications/{level}/{application}", status_code=204)
def delete_notifications(level: str, application: str, services: ServicesDep) -> Response:
    """Remove the application's notifications."""
    _level(level)
    with services.db.transaction() as conn:
        services.app_notifications.delete(conn, application)
    return Response(status_code=204)
