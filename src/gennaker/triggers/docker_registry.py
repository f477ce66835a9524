"""The ``[docker]`` settings and a small Docker Registry HTTP API v2 client (what Igor asks
Clouddriver's docker registry provider for): list a repository's tags, read a tag's digest.

```toml
[[docker.accounts]]
name = "my-registry"
address = "https://registry.example.com"
username = "ci"                       # HTTP Basic, or
password = "..."
# token = "..."                       # a bearer token
repositories = ["team/app", "team/worker"]
poll_interval_seconds = 60            # pollIntervalSeconds also accepted
```

Registries that answer 401 with ``WWW-Authenticate: Bearer realm=...`` (Docker Hub, GitLab, most
hosted registries) get a pull token from that realm with the account's credentials, as the
docker client does.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError

from gennaker.config import ConfigError, Settings

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    )
)
_MAX_PAGES = 100


class DockerAccount(BaseModel):
    """One registry and the repositories polled in it."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    repositories: tuple[str, ...] = ()
    poll_interval_seconds: float = Field(
        default=60.0, gt=0, validation_alias=AliasChoices("poll_interval_seconds", "pollIntervalSeconds")
    )
    timeout_seconds: float = Field(default=10.0, gt=0)

    @property
    def base_url(self) -> str:
        """The address with a scheme (https unless given) and no trailing slash."""
        address = self.address.rstrip("/")
        return address if "://" in address else f"https://{address}"

    @property
    def registry(self) -> str:
        """The registry host (and port) as it appears in image references."""
        return urlsplit(self.base_url).netloc


class DockerSettings(BaseModel):
    """The ``[docker]`` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accounts: tuple[DockerAccount, ...] = ()


def docker_settings(settings: Settings) -> DockerSettings:
    """Validate ``settings.docker``; ConfigError names the bad key."""
    try:
        return DockerSettings.model_validate(dict(settings.docker))
    except ValidationError as exc:
        problems = [f"  docker.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ConfigError("invalid [docker] configuration:\n" + "\n".join(problems)) from None


class RegistryError(Exception):
    """The registry could not be asked, or answered something unusable."""


class RegistryClient:
    """Asks one registry account about its repositories."""

    def __init__(self, account: DockerAccount, client: httpx.AsyncClient) -> None:
        self.account = account
        self.client = client
        self._tokens: dict[str, str] = {}

    def _auth(self, scope: str) -> dict[str, str]:
        token = self._tokens.get(scope) or (
            self.account.token.get_secret_value() if self.account.token else None
        )
        if token:
            return {"Authorization": f"Bearer {token}"}
        return {}

    def _basic(self) -> httpx.BasicAuth | None:
        if self.account.username:
            password = self.account.password.get_secret_value() if self.account.password else ""
            return httpx.BasicAuth(self.account.username, password)
        return None

    async def _request(
        self, method: str, path: str, repository: str, headers: dict[str, str]
    ) -> httpx.Response:
        scope = f"repository:{repository}:pull"
        url = self.account.base_url + path
        timeout = self.account.timeout_seconds
        try:
            auth = None if self._auth(scope) else self._basic()
            kwargs: dict[str, Any] = {"headers": {**headers, **self._auth(scope)}, "timeout": timeout}
            response = await self.client.request(method, url, auth=auth, **kwargs)
            challenge = response.headers.get("www-authenticate", "")
            if response.status_code == 401 and challenge.lower().startswith("bearer"):
                await self._fetch_token(challenge, scope)
                kwargs["headers"] = {**headers, **self._auth(scope)}
                response = await self.client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise RegistryError(f"{self.account.registry} did not answer within {timeout} seconds") from None
        except httpx.HTTPError as exc:
            raise RegistryError(
                f"cannot reach {self.account.registry}: {type(exc).__name__}: {exc}"
            ) from None
        if response.status_code >= 400:
            raise RegistryError(
                f"{self.account.registry} answered HTTP {response.status_code} for {method} {path}"
            )
        return response

    async def _fetch_token(self, challenge: str, scope: str) -> None:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", None)
        if not realm:
            raise RegistryError(f"{self.account.registry} asked for a token without saying where to get one")
        params.setdefault("scope", scope)
        response = await self.client.get(
            realm, params=params, auth=self._basic(), timeout=self.account.timeout_seconds
        )
        if response.status_code >= 400:
            raise RegistryError(
                f"the token service of {self.account.registry} answered HTTP {response.status_code}"
            )
        try:
            data = response.json()
            self._tokens[scope] = str(data.get("token") or data["access_token"])
        except (ValueError, KeyError, AttributeError):
            raise RegistryError(f"the token service of {self.account.registry} answered garbage") from None

    async def tags(self, repository: str) -> list[str]:
        """Every tag of a repository (following pagination)."""
        path: str | None = f"/v2/{repository}/tags/list"
        found: list[str] = []
        for _ in range(_MAX_PAGES):
            if path is None:
                break
            response = await self._request("GET", path, repository, {"Accept": "application/json"})
            try:
                data = response.json()
            except ValueError:
                raise RegistryError(
                    f"{self.account.registry} answered garbage for the tags of {repository}"
                ) from None
            tags = data.get("tags") if isinstance(data, dict) else None
            if not isinstance(data, dict) or not (tags is None or isinstance(tags, list)):
                raise RegistryError(f"{self.account.registry} answered garbage for the tags of {repository}")
            found += [str(t) for t in tags or [] if isinstance(t, str | int)]
            path = _next_page(response.headers.get("link"))
        return found

    async def digest(self, repository: str, tag: str) -> str | None:
        """The content digest of ``repository:tag`` (``Docker-Content-Digest``), if the registry says."""
        response = await self._request(
            "HEAD", f"/v2/{repository}/manifests/{tag}", repository, {"Accept": MANIFEST_TYPES}
        )
        digest = response.headers.get("docker-content-digest")
        return str(digest) if digest else None


def _next_page(link: str | None) -> str | None:
    """The path of the next page from a ``Link: </v2/...>; rel="next"`` header."""
    if not link:
        return None
    match = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', link)
    if match is None:
        return None
    parts = urlsplit(match.group(1))
    return parts.path + (f"?{parts.query}" if parts.query else "")
