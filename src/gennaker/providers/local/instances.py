"""Creating, starting and removing the instances of a server group (one OS process each).

Every instance is recorded (id, port, directory) before its process starts, and the launcher
records the process before it execs, so an interrupted creation is finished by running it again:
an instance found with a live recorded process is adopted, one without is started.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gennaker.clock import Clock
from gennaker.db import Database
from gennaker.providers.local.health import STARTING
from gennaker.providers.local.images import Image
from gennaker.providers.local.process import (
    InstancePaths,
    alive,
    make_tree_writable,
    read_pid_file,
    rotate,
    spawn,
    stop,
)
from gennaker.providers.local.settings import LocalAccount
from gennaker.providers.local.state import (
    EXITED,
    PENDING,
    RUNNING,
    STOPPING,
    Instance,
    LocalState,
    ServerGroup,
)
from gennaker.providers.protocol import OperationError
from gennaker.store.schema import local_instances as inst_t

log = logging.getLogger(__name__)

_KEPT_ENV = ("PATH", "HOME", "LANG")
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def _port_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


class Instances:
    """The instances of one account."""

    def __init__(
        self, db: Database, clock: Clock, account: LocalAccount, directory: Path, state: LocalState
    ) -> None:
        self.db = db
        self.clock = clock
        self.account = account
        self.directory = directory / "instances"
        self.state = state

    def paths(self, instance_id: str) -> InstancePaths:
        """The files of an instance."""
        return InstancePaths(self.directory / instance_id)

    def free_ports(self, count: int) -> int:
        """How many of ``count`` ports the account's range can still give (for the up-front check)."""
        low, high = self.account.port_range
        with self.db.read() as conn:
            used = self.state.used_ports(conn)
        return min(count, (high - low + 1) - len([p for p in used if low <= p <= high]))

    def add(self, group: ServerGroup, count: int) -> list[Instance]:
        """Record ``count`` new instances (newest slots) with free ports; OperationError when the
        port range is exhausted (then none is recorded)."""
        now = self.clock.now_ms()
        low, high = self.account.port_range
        created: list[Instance] = []
        with self.db.transaction() as conn:
            used = self.state.used_ports(conn)
            last = conn.execute(
                sa.select(sa.func.max(inst_t.c.slot)).where(
                    inst_t.c.account == self.account.name, inst_t.c.server_group == group.name
                )
            ).scalar()
            slot = -1 if last is None else int(last)
            # Ports are tried from a random point of the range (wrapping round): two Gennakers on one
            # machine (or parallel test runs), each knowing only its own instances, rarely pick the
            # same free port at the same moment, as they would scanning from the bottom.
            candidates = self._candidate_ports()
            for _ in range(count):
                port = next((p for p in candidates if p not in used and _port_free("127.0.0.1", p)), high + 1)
                if port > high:
                    raise OperationError(
                        f"the port range {low}-{high} of account {self.account.name} is exhausted "
                        f"({count} instance(s) needed); widen port_range in [[providers.local.accounts]] "
                        "or destroy unused server groups"
                    )
                slot += 1
                instance = Instance(
                    id=f"{group.name}-{slot}",
                    account=self.account.name,
                    server_group=group.name,
                    slot=slot,
                    port=port,
                    directory=str(self.paths(f"{group.name}-{slot}").root),
                    pid=None,
                    pid_start=None,
                    state=PENDING,
                    traffic="maint" if group.disabled else "ready",
                    health={"state": STARTING},
                    restarts=0,
                    next_start_at=None,
                    last_exit=None,
                    launched_at=now,
                    updated_at=now,
                )
                self.state.insert_instance(conn, instance)
                used.add(port)
                created.append(instance)
        return created

    def _candidate_ports(self) -> Iterator[int]:
        low, high = self.account.port_range
        size = high - low + 1
        offset = random.randrange(size)
        return iter([low + (offset + i) % size for i in range(size)])

    def _move_if_taken(self, instance: Instance) -> None:
        """Give a restarting instance a new port when something else took its own while it was
        down (a process of another program, or of another Gennaker on this machine); HAProxy's
        server follows the recorded port on the next reconcile."""
        if _port_free("127.0.0.1", instance.port):
            return
        with self.db.transaction() as conn:
            used = self.state.used_ports(conn)
            port = next(
                (p for p in self._candidate_ports() if p not in used and _port_free("127.0.0.1", p)), None
            )
            if port is None:
                raise OperationError(
                    f"port {instance.port} of instance {instance.id} is taken by another process and the "
                    f"port range of account {self.account.name} has no free port left"
                )
            conn.execute(
                inst_t.update()
                .where(inst_t.c.account == self.account.name, inst_t.c.id == instance.id)
                .values(port=port, updated_at=self.clock.now_ms())
            )
        log.warning(
            "port %s of instance %s is taken by another process; it moves to port %s",
            instance.port,
            instance.id,
            port,
        )
        instance.port = port

    def environment(self, group: ServerGroup, instance: Instance) -> dict[str, str]:
        """PATH, HOME and LANG of this process, the cluster's ``env``, and the instance's own
        variables; nothing else of Gennaker's environment (which holds its secrets)."""
        env = {k: os.environ[k] for k in _KEPT_ENV if k in os.environ}
        env.setdefault("PATH", _DEFAULT_PATH)
        for key, value in (group.spec.get("env") or {}).items():
            env[str(key)] = value if isinstance(value, str) else str(value)
        env.update(
            PORT=str(instance.port),
            GENNAKER_INSTANCE_ID=instance.id,
            GENNAKER_SERVER_GROUP=group.name,
            GENNAKER_IMAGE_ID=group.image_id,
        )
        return env

    def start(self, group: ServerGroup, instance: Instance, image: Image | None) -> Instance:
        """Start (or adopt) the instance's process; blocking."""
        paths = self.paths(instance.id)
        found = read_pid_file(paths)
        if found is not None and alive(*found):
            pid, pid_start = found
        else:
            paths.root.mkdir(parents=True, exist_ok=True)
            if not paths.work.exists():
                if image is None:
                    raise OperationError(f"image {group.image_id} of {group.name} no longer exists")
                partial = paths.root / "work.partial"
                if partial.exists():
                    make_tree_writable(partial)
                    shutil.rmtree(partial)
                shutil.copytree(image.path, partial, symlinks=True)
                make_tree_writable(partial)
                os.replace(partial, paths.work)
            argv = [str(a) for a in group.spec["command"]]
            self._move_if_taken(instance)
            pid, pid_start = spawn(paths, argv, self.environment(group, instance))
        now = self.clock.now_ms()
        health = {"state": STARTING}
        self.state.update_instance(
            instance.id,
            now,
            pid=pid,
            pid_start=pid_start,
            state=RUNNING,
            health=health,
            next_start_at=None,
            launched_at=now,
        )
        instance.pid, instance.pid_start, instance.state, instance.health = pid, pid_start, RUNNING, health
        return instance

    def remove(self, instance: Instance) -> str:
        """Stop the process (SIGTERM, grace, SIGKILL), delete its directory and its row."""
        self.state.update_instance(instance.id, self.clock.now_ms(), state=STOPPING)
        outcome = stop(instance.pid, instance.pid_start, self.account.stop_grace_seconds)
        found = read_pid_file(self.paths(instance.id))
        if found is not None and found != (instance.pid, instance.pid_start):
            stop(found[0], found[1], self.account.stop_grace_seconds)
        root = self.paths(instance.id).root
        if root.exists():
            make_tree_writable(root)
            shutil.rmtree(root, ignore_errors=True)
        self.state.delete_instance(instance.id)
        return outcome

    def observe(self, instance: Instance, now: int) -> Instance:
        """Record that a recorded process has exited (Down until restarted with backoff)."""
        if instance.state != RUNNING or alive(instance.pid, instance.pid_start):
            return instance
        consecutive = int(instance.health.get("consecutiveExits") or 0) + 1
        uptime = now - instance.launched_at
        if uptime > 60_000:
            consecutive = 1
        backoff = min(self.account.max_restart_backoff_seconds, 2 ** (consecutive - 1)) * 1000
        health = {"state": "Down", "description": "the process exited", "consecutiveExits": consecutive}
        next_start = now + int(backoff)
        changed = self.state.update_instance(
            instance.id,
            now,
            when_state=RUNNING,
            state=EXITED,
            health=health,
            restarts=instance.restarts + 1,
            next_start_at=next_start,
            last_exit=f"exited after {uptime // 1000} s",
        )
        if not changed:  # being stopped (resize down, destroy): not an exit to restart from
            return instance
        instance.state, instance.health, instance.next_start_at = EXITED, health, next_start
        instance.restarts += 1
        return instance

    def rotate_logs(self, instance: Instance) -> None:
        """Keep each log file under the account's size cap."""
        paths = self.paths(instance.id)
        for path in (paths.stdout, paths.stderr):
            rotate(path, self.account.log_max_bytes, self.account.log_backups)

    def console(self, instance: Instance, max_bytes: int = 256 * 1024) -> list[dict[str, Any]]:
        """The tail of each log file, as Clouddriver's console output ``[{name, output}]``."""
        paths = self.paths(instance.id)
        result = []
        for name, path in (("stdout", paths.stdout), ("stderr", paths.stderr)):
            try:
                with path.open("rb") as handle:
                    size = handle.seek(0, os.SEEK_END)
                    handle.seek(max(0, size - max_bytes))
                    text = handle.read().decode("utf-8", errors="replace")
            except OSError:
                text = ""
            result.append({"name": name, "output": text})
        return result


def describe_exit(instance: Instance) -> Mapping[str, Any]:
    """What the read model says about an instance's process."""
    return {"pid": instance.pid, "restarts": instance.restarts, "lastExit": instance.last_exit}
