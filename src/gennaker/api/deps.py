"""What route handlers take from the request: the Services object and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gennaker.services import Services


# Both are async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, which would
# cost two thread hand-offs per request for a dictionary lookup.
async def get_services(request: Request) -> Services:
    """The Services object the app was built with."""
    services: Services = request.app.state.services
    return services


async def current_user(request: Request) -> str | None:
    """The authenticated user, or None when authentication is off."""
    user = getattr(request.state, "user", None)
    return user if isinstance(user, str) else None


ServicesDep = Annotated[Services, Depends(get_services)]
UserDep = Annotated[str | None, Depends(current_user)]


def csv(value: str | None) -> list[str] | None:
    """``a,b , c`` -> ``["a", "b", "c"]``; None or blank -> None."""
    if value is None:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    return items or None
