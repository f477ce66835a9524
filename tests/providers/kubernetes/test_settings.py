"""Kubernetes accounts are checked at start, with an error naming the account and the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from gennaker.clock import FrozenClock
from gennaker.config import ConfigError
from gennaker.providers.kubernetes.provider import KubernetesProvider
from gennaker.providers.kubernetes.settings import settings_from

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {}}]
contexts: [{name: dev, context: {cluster: c, user: u}}]
current-context: dev
"""


def _kubectl() -> str:
    import shutil

    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl is not installed")
    return found


def test_halyard_spellings_and_defaults() -> None:
    settings = settings_from(
        {
            "kubernetes": {
                "accounts": [
                    {
                        "name": "k",
                        "kubeconfigFile": "/x",
                        "omitNamespaces": ["kube-system"],
                        "onlySpinnakerManaged": True,
                    }
                ]
            }
        }
    )
    account = settings.accounts[0]
    assert account.kubeconfig == Path("/x") and account.only_spinnaker_managed
    assert not account.allows_namespace("kube-system") and account.allows_namespace("default")


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"providers.kubernetes.accounts.0.name"):
        settings_from({"kubernetes": {"accounts": [{"name": "a b"}]}})
    with pytest.raises(ConfigError, match="must be unique"):
        settings_from({"kubernetes": {"accounts": [{"name": "a"}, {"name": "a"}]}})


def test_a_missing_kubeconfig_or_context_fails_the_start(tmp_path: Path) -> None:
    kubectl = _kubectl()
    missing = settings_from(
        {
            "kubernetes": {
                "kubectl": kubectl,
                "accounts": [{"name": "k", "kubeconfig": str(tmp_path / "nope")}],
            }
        }
    )
    with pytest.raises(ConfigError, match=r"accounts\[k\]: kubeconfig file .*nope does not exist"):
        KubernetesProvider(FrozenClock(), missing)
    config = tmp_path / "config"
    config.write_text(KUBECONFIG)
    wrong = settings_from(
        {
            "kubernetes": {
                "kubectl": kubectl,
                "accounts": [{"name": "k", "kubeconfig": str(config), "context": "prod"}],
            }
        }
    )
    with pytest.raises(ConfigError, match=r"context 'prod' is not in the kubeconfig \(it has: dev\)"):
        KubernetesProvider(FrozenClock(), wrong)
    ok = settings_from(
        {
            "kubernetes": {
                "kubectl": kubectl,
                "accounts": [{"name": "k", "kubeconfig": str(config), "context": "dev"}],
            }
        }
    )
    provider = KubernetesProvider(FrozenClock(), ok)
    assert [a.name for a in provider.accounts()] == ["k"]


def test_a_missing_kubectl_fails_the_start(tmp_path: Path) -> None:
    settings = settings_from(
        {"kubernetes": {"kubectl": str(tmp_path / "kubectl"), "accounts": [{"name": "k"}]}}
    )
    with pytest.raises(ConfigError, match="kubectl not found"):
        KubernetesProvider(FrozenClock(), settings)
