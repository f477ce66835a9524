"""Account permissions from the providers' account config (``[[providers.<id>.accounts]]
permissions = {READ = [...], WRITE = [...]}``), as Clouddriver's account ``permissions``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.authz.model import ACCOUNT_ACTIONS, Permissions, parse_permissions
from gennaker.config import ConfigError
from gennaker.errors import InvalidInput


def account_permissions(providers: Mapping[str, Any]) -> dict[str, Permissions]:
    """Account name (lower-case) -> its permissions, for every provider section that lists accounts;
    ConfigError naming the setting when a map is malformed."""
    found: dict[str, Permissions] = {}
    for provider, section in providers.items():
        accounts = section.get("accounts") if isinstance(section, Mapping) else None
        if not isinstance(accounts, list):
            continue
        for index, account in enumerate(accounts):
            if not isinstance(account, Mapping) or "permissions" not in account:
                continue
            where = f"providers.{provider}.accounts[{index}].permissions"
            try:
                parsed = parse_permissions(account["permissions"], where, ACCOUNT_ACTIONS)
            except InvalidInput as exc:
                raise ConfigError(f"invalid account permissions: {exc.message}") from None
            name = str(account.get("name") or "local").lower()
            found[name] = parsed
    return found
