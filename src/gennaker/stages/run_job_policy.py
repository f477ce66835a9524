"""``[stages.run_job_local]``: whether local run jobs may run here, and which.

    [stages.run_job_local]
    enabled = true                        # default: true without authentication, false with it
    allowed_commands = ["make", "/opt/deploy/bin/ship"]   # empty: any command
    allowed_working_dirs = ["/srv/checkouts"]             # empty: any directory

A local job runs as the server's own user, so it can read whatever that user can: gennaker.toml
(SMTP password, users' password hashes), the database file, the data directory. That is fine on a
laptop where the only user is the operator (authentication off, loopback only: on by default), and
not on a shared server (authentication on: off unless enabled here). ``allowed_commands`` names
executables (a bare name is looked up on the server's PATH; the job's resolved command must be
that very file, so a stage cannot bring its own ``make`` through its ``env`` PATH); allowing a shell or an interpreter allows everything. The default working
directory (under the data directory) is always allowed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from gennaker.config import ConfigError


class RunJobLocalSettings(BaseModel):
    """The validated ``[stages.run_job_local]`` table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool | None = None
    allowed_commands: tuple[str, ...] = ()
    allowed_working_dirs: tuple[str, ...] = ()


class LocalJobPolicy:
    """Decides whether a local job may start; ``refusal`` says why not (None: it may)."""

    def __init__(self, settings: RunJobLocalSettings, *, auth_enabled: bool) -> None:
        self.settings = settings
        self.enabled = settings.enabled if settings.enabled is not None else not auth_enabled

    def refusal(self, executable: str, path: str, working_dir: str, default_dir: str) -> str | None:
        """Why the job whose resolved ``executable`` would run in ``working_dir`` may not start."""
        if not self.enabled:
            return (
                "Local run jobs are disabled on this server ([stages.run_job_local] enabled = false, "
                "the default when authentication is on)"
            )
        allowed = self.settings.allowed_commands
        if allowed and not any(_same_file(executable, _resolve(entry, path)) for entry in allowed):
            return (
                f"Command {executable!r} is not in [stages.run_job_local] allowed_commands "
                f"({', '.join(allowed)})"
            )
        dirs = self.settings.allowed_working_dirs
        if dirs and not _inside(working_dir, default_dir) and not any(_inside(working_dir, d) for d in dirs):
            return (
                f"workingDir {working_dir!r} is not under [stages.run_job_local] allowed_working_dirs "
                f"({', '.join(dirs)})"
            )
        return None


def _resolve(entry: str, path: str) -> str | None:
    return entry if "/" in entry else shutil.which(entry, path=path)


def _same_file(a: str, b: str | None) -> bool:
    return b is not None and os.path.realpath(a) == os.path.realpath(b)


def _inside(child: str, parent: str) -> bool:
    real_child, real_parent = os.path.realpath(child), os.path.realpath(parent)
    return Path(real_child).is_relative_to(real_parent)


def local_job_policy(settings: Any) -> LocalJobPolicy:
    """The policy from the settings; ConfigError names a bad setting."""
    stages = getattr(settings, "stages", None) or {}
    section = stages.get("run_job_local", {}) if isinstance(stages, Mapping) else None
    if not isinstance(section, Mapping):
        raise ConfigError("invalid configuration: stages.run_job_local must be a table")
    try:
        parsed = RunJobLocalSettings.model_validate(dict(section))
    except ValidationError as exc:
        problems = [
            f"  stages.run_job_local.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigError("invalid configuration:\n" + "\n".join(problems)) from None
    return LocalJobPolicy(parsed, auth_enabled=bool(settings.auth.enabled))
