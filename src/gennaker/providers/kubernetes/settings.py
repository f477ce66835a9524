"""The Kubernetes provider's accounts: ``[[providers.kubernetes.accounts]]`` in gennaker.toml::

    [providers.kubernetes]
    kubectl = "/usr/bin/kubectl"           # default: kubectl on PATH

    [[providers.kubernetes.accounts]]
    name = "k8s-dev"
    kubeconfig = "~/.kube/config"          # default: kubectl's own default
    context = "dev"                        # default: the kubeconfig's current context
    namespaces = ["default", "shop"]       # only these (default: every namespace)
    omit_namespaces = ["kube-system"]      # never these
    only_spinnaker_managed = false         # cache only resources with moniker annotations
    kinds = []                             # cache only these kinds (default: the ones below)
    omit_kinds = ["secret"]
    permissions = { READ = ["dev"], WRITE = ["dev"] }   # kept for authorization

camelCase spellings (``kubeconfigFile``, ``omitNamespaces``, ``onlySpinnakerManaged``,
``omitKinds``) are accepted too, as Halyard writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from gennaker.config import ConfigError


class KubernetesAccount(BaseModel):
    """One cluster (a kubeconfig context) and what of it Gennaker may touch."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str
    kubeconfig: Path | None = Field(
        default=None, validation_alias=AliasChoices("kubeconfig", "kubeconfigFile")
    )
    context: str | None = None
    environment: str = ""
    namespaces: tuple[str, ...] = ()
    omit_namespaces: tuple[str, ...] = Field(
        default=(), validation_alias=AliasChoices("omit_namespaces", "omitNamespaces")
    )
    only_spinnaker_managed: bool = Field(
        default=False, validation_alias=AliasChoices("only_spinnaker_managed", "onlySpinnakerManaged")
    )
    kinds: tuple[str, ...] = ()
    omit_kinds: tuple[str, ...] = Field(default=(), validation_alias=AliasChoices("omit_kinds", "omitKinds"))
    permissions: Mapping[str, tuple[str, ...]] = Field(default_factory=dict)
    #: Seconds kubectl waits for the API server per request.
    request_timeout_seconds: int = Field(default=20, ge=1, le=600)

    @field_validator("name")
    @classmethod
    def _simple(cls, value: str) -> str:
        if not value or not all(c.isalnum() or c in "-_." for c in value):
            raise ValueError("must be letters, digits, '-', '_' or '.'")
        return value

    def allows_kind(self, kind: str) -> bool:
        """Whether this account may deploy and caches ``kind`` (``kinds`` / ``omit_kinds``, any case)."""
        wanted = kind.lower()
        if wanted in {k.lower() for k in self.omit_kinds}:
            return False
        return not self.kinds or wanted in {k.lower() for k in self.kinds}

    def allows_namespace(self, namespace: str) -> bool:
        """Whether this account may act on ``namespace``."""
        if namespace in self.omit_namespaces:
            return False
        return not self.namespaces or namespace in self.namespaces


class KubernetesSettings(BaseModel):
    """``[providers.kubernetes]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kubectl: str = "kubectl"
    accounts: tuple[KubernetesAccount, ...] = ()


def settings_from(section: Mapping[str, Any]) -> KubernetesSettings:
    """The ``[providers.kubernetes]`` section; ConfigError naming the bad setting."""
    raw = section.get("kubernetes") if isinstance(section, Mapping) else None
    if raw is None:
        return KubernetesSettings()
    if not isinstance(raw, Mapping):
        raise ConfigError("providers.kubernetes must be a table")
    try:
        settings = KubernetesSettings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"providers.kubernetes.{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ConfigError(problems) from None
    names = [a.name for a in settings.accounts]
    if len(set(names)) != len(names):
        raise ConfigError(f"providers.kubernetes.accounts: account names must be unique (got {names})")
    return settings
