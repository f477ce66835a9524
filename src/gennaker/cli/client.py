"""The API client behind the CLI: where the API is and who is asking (flags,
GENNAKER_ENDPOINT/GENNAKER_TOKEN/GENNAKER_USERNAME/GENNAKER_PASSWORD, ``~/.gennaker/config.yaml``
with spin's ``auth.basic`` for HTTP Basic, else http://127.0.0.1:8084 without credentials),
requests with Gate's errors turned into one readable message, and the Server-Sent Events stream."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

DEFAULT_ENDPOINT = "http://127.0.0.1:8084"


class ClientError(Exception):
    """A request failed; the message is what to show the user."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ClientConfig:
    """Where the API is and how to authenticate."""

    endpoint: str
    token: str | None
    #: HTTP Basic (user name, password), used when there is no token.
    basic: tuple[str, str] | None = None


def config_path() -> Path:
    """``~/.gennaker/config.yaml`` (GENNAKER_CLI_CONFIG overrides it)."""
    override = os.environ.get("GENNAKER_CLI_CONFIG")
    return Path(override) if override else Path.home() / ".gennaker" / "config.yaml"


def resolve(endpoint: str | None = None, token: str | None = None) -> ClientConfig:
    """Flags first, then GENNAKER_ENDPOINT/GENNAKER_TOKEN, then the config file, then the default."""
    file: dict[str, Any] = {}
    path = config_path()
    if path.is_file():
        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ClientError(f"cannot read {path}: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ClientError(f"{path} must be a mapping with 'endpoint:' and 'token:' or 'auth:'")
        file = loaded or {}
    chosen_endpoint = (
        endpoint or os.environ.get("GENNAKER_ENDPOINT") or file.get("endpoint") or DEFAULT_ENDPOINT
    )
    chosen_token = token or os.environ.get("GENNAKER_TOKEN") or file.get("token") or None
    return ClientConfig(
        str(chosen_endpoint).rstrip("/"),
        None if chosen_token is None else str(chosen_token),
        _basic(file, path),
    )


def _basic(file: dict[str, Any], path: Path) -> tuple[str, str] | None:
    """HTTP Basic credentials: GENNAKER_USERNAME/GENNAKER_PASSWORD, else spin's
    ``auth: {basic: {username, password}}`` in the config file."""
    username = os.environ.get("GENNAKER_USERNAME")
    if username:
        return username, os.environ.get("GENNAKER_PASSWORD", "")
    auth = file.get("auth")
    if not isinstance(auth, dict) or auth.get("enabled") is False or auth.get("basic") is None:
        return None
    basic = auth["basic"]
    if not isinstance(basic, dict) or not isinstance(basic.get("username"), str):
        raise ClientError(f"{path}: auth.basic must have 'username:' and 'password:'")
    return basic["username"], str(basic.get("password") or "")


def error_message(response: httpx.Response) -> str:
    """The API's message (Gate's error shape), with the field problems, or the HTTP status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        message = str(body["message"])
        problems = body.get("errors")
        if isinstance(problems, list) and len(problems) > 1:
            message += "".join(
                f"\n  {p.get('path')}: {p.get('message')}" for p in problems if isinstance(p, dict)
            )
        return message
    return f"HTTP {response.status_code} {response.reason_phrase}"


class ApiClient:
    """A thin synchronous client of Gennaker's API."""

    def __init__(self, config: ClientConfig, *, timeout: float = 30.0) -> None:
        self.config = config
        headers = {"Accept": "application/json"}
        auth: httpx.BasicAuth | None = None
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        elif config.basic is not None:
            auth = httpx.BasicAuth(*config.basic)
        self.http = httpx.Client(base_url=config.endpoint, headers=headers, auth=auth, timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; the decoded JSON body (None when empty). ClientError on failure."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ClientError(f"cannot reach the API at {self.config.endpoint}: {exc}") from None
        if response.status_code >= 400:
            raise ClientError(error_message(response), response.status_code)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ClientError(f"the API answered {method} {path} with something that is not JSON") from None

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET ``path``."""
        return self.request("GET", path, **kwargs)

    def events(
        self, *, execution_id: str | None = None, read_timeout: float = 20.0
    ) -> Generator[dict[str, Any] | None, None, None]:
        """SSE events as dicts; None after ``read_timeout`` s of silence (a chance to check status).

        The stream is open (its start position fixed) before the first value is produced."""
        params = {"executionId": execution_id} if execution_id else {}
        timeout = httpx.Timeout(10.0, read=read_timeout)
        last_id: str | None = None
        while True:
            headers = {"Accept": "text/event-stream"}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            try:
                with self.http.stream(
                    "GET", "/events/stream", params=params, headers=headers, timeout=timeout
                ) as r:
                    if r.status_code >= 400:
                        r.read()
                        raise ClientError(error_message(r), r.status_code)
                    yield None
                    for event in _parse_sse(r.iter_lines()):
                        if event.get("id") is not None:
                            last_id = str(event["id"])
                        yield event
            except httpx.ReadTimeout:
                yield None
            except httpx.TransportError as exc:
                raise ClientError(f"lost the event stream from {self.config.endpoint}: {exc}") from None


def _parse_sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    import json

    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                try:
                    parsed = json.loads("\n".join(data))
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict):
                    yield parsed
            data = []
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
