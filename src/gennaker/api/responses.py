"""JSON responses serialised with orjson (Spinnaker documents are large; the stdlib is slow)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JsonResponse(Response):
    """``application/json`` rendered by orjson; keys keep their order, non-string keys allowed."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise ``content``."""
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> JsonResponse:
    """A JsonResponse (a shortcut that reads well in route handlers)."""
    return JsonResponse(content, status_code=status_code, headers=headers)
