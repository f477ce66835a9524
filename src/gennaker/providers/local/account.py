"""Everything one local account works with: its settings and directory, its rows, its images,
its instances and its HAProxy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gennaker.clock import Clock
from gennaker.db import Database
from gennaker.providers.local.images import ImageStore
from gennaker.providers.local.instances import Instances
from gennaker.providers.local.settings import LocalAccount
from gennaker.providers.local.state import LocalState
from gennaker.providers.local.traffic import Traffic


@dataclass
class LocalAccountRuntime:
    """The parts of one account, built once per process."""

    db: Database
    clock: Clock
    account: LocalAccount
    directory: Path
    #: Images are the machine's, shared by every local account.
    images: ImageStore
    state: LocalState = field(init=False)
    instances: Instances = field(init=False)
    traffic: Traffic = field(init=False)

    def __post_init__(self) -> None:
        self.state = LocalState(self.db, self.account.name)
        self.instances = Instances(self.db, self.clock, self.account, self.directory, self.state)
        self.traffic = Traffic(self.account, self.directory, self.state)
