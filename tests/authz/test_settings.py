"""Bad ``[authz]`` settings and account permissions stop the start with the setting named."""

from __future__ import annotations

from pathlib import Path

import pytest

from gennaker.config import ConfigError
from gennaker.testing import make_services


def test_an_unknown_authz_setting_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"authz\.admin_role: Extra inputs"):
        make_services(f"sqlite:///{tmp_path / 'g.db'}", authz={"admin_role": ["x"]})


def test_an_ldap_url_must_be_ldap(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"authz\.ldap\.url: Value error, must start with ldap:// or ldaps://"
    ):
        make_services(
            f"sqlite:///{tmp_path / 'g.db'}", authz={"ldap": {"url": "http://x", "group_search_base": "o"}}
        )


def test_account_permissions_with_an_unknown_action_are_named(tmp_path: Path) -> None:
    accounts = [{"name": "prod", "permissions": {"DEPLOY": ["x"]}}]
    with pytest.raises(
        ConfigError, match=r"providers\.local\.accounts\[0\]\.permissions\.DEPLOY: unknown action"
    ):
        make_services(f"sqlite:///{tmp_path / 'g.db'}", providers={"local": {"accounts": accounts}})
