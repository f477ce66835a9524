"""The local provider's desired and observed state in the database: server groups, instances,
load balancers. Every process reads the same rows, so any worker or scheduler can act on them and
a restarted Gennaker picks up where the last one stopped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.db import Database
from gennaker.store.json import dumps, loads
from gennaker.store.schema import local_instances as inst_t
from gennaker.store.schema import local_load_balancers as lb_t
from gennaker.store.schema import local_server_groups as sg_t

#: Server group statuses: instances being created, serving, being destroyed.
CREATING, ACTIVE, DESTROYING = "creating", "active", "destroying"
#: Instance process states.
PENDING, RUNNING, EXITED, STOPPING = "pending", "running", "exited", "stopping"


@dataclass
class ServerGroup:
    """One server group's row."""

    account: str
    name: str
    region: str
    application: str
    cluster: str
    sequence: int
    image_id: str
    spec: dict[str, Any]
    capacity: dict[str, int]
    disabled: bool
    status: str
    operation_id: str
    created_at: int
    updated_at: int


@dataclass
class Instance:
    """One instance's row (``health`` holds the check counters and the last result)."""

    id: str
    account: str
    server_group: str
    slot: int
    port: int
    directory: str
    pid: int | None
    pid_start: int | None
    state: str
    traffic: str
    health: dict[str, Any]
    restarts: int
    next_start_at: int | None
    last_exit: str | None
    launched_at: int
    updated_at: int


@dataclass
class LoadBalancer:
    """One load balancer's row: ``spec`` holds listeners and the health check."""

    account: str
    name: str
    region: str
    application: str
    spec: dict[str, Any] = field(default_factory=dict)
    created_at: int = 0
    updated_at: int = 0


def _group(row: Any) -> ServerGroup:
    return ServerGroup(
        account=row.account,
        name=row.name,
        region=row.region,
        application=row.application,
        cluster=row.cluster,
        sequence=row.sequence,
        image_id=row.image_id,
        spec=loads(row.spec),
        capacity=loads(row.capacity),
        disabled=bool(row.disabled),
        status=row.status,
        operation_id=row.operation_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _instance(row: Any) -> Instance:
    return Instance(
        id=row.id,
        account=row.account,
        server_group=row.server_group,
        slot=row.slot,
        port=row.port,
        directory=row.directory,
        pid=row.pid,
        pid_start=row.pid_start,
        state=row.state,
        traffic=row.traffic,
        health=loads(row.health),
        restarts=row.restarts,
        next_start_at=row.next_start_at,
        last_exit=row.last_exit,
        launched_at=row.launched_at,
        updated_at=row.updated_at,
    )


def _lb(row: Any) -> LoadBalancer:
    return LoadBalancer(
        account=row.account,
        name=row.name,
        region=row.region,
        application=row.application,
        spec=loads(row.spec),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class LocalState:
    """Queries and writes over the local provider's tables for one account."""

    def __init__(self, db: Database, account: str) -> None:
        self.db = db
        self.account = account

    # -- server groups ---------------------------------------------------------------------------

    def groups(self, *, cluster: str | None = None) -> list[ServerGroup]:
        """Server groups of the account (of one cluster), oldest first."""
        query = sa.select(sg_t).where(sg_t.c.account == self.account)
        if cluster is not None:
            query = query.where(sg_t.c.cluster == cluster)
        with self.db.read() as conn:
            return [_group(r) for r in conn.execute(query.order_by(sg_t.c.created_at, sg_t.c.name))]

    def group(self, name: str, conn: Connection | None = None) -> ServerGroup | None:
        """One server group."""
        query = sa.select(sg_t).where(sg_t.c.account == self.account, sg_t.c.name == name)
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with self.db.read() as c:
                row = c.execute(query).first()
        return _group(row) if row is not None else None

    def group_by_operation(self, operation_id: str) -> ServerGroup | None:
        """The server group an operation created (or started creating)."""
        with self.db.read() as conn:
            row = conn.execute(sg_t.select().where(sg_t.c.operation_id == operation_id)).first()
        return _group(row) if row is not None else None

    def insert_group(self, conn: Connection, group: ServerGroup) -> None:
        """Record a new server group (unique name and operation id)."""
        conn.execute(
            sg_t.insert().values(
                account=group.account,
                name=group.name,
                region=group.region,
                application=group.application,
                cluster=group.cluster,
                sequence=group.sequence,
                image_id=group.image_id,
                spec=dumps(group.spec),
                capacity=dumps(group.capacity),
                disabled=group.disabled,
                status=group.status,
                operation_id=group.operation_id,
                created_at=group.created_at,
                updated_at=group.updated_at,
            )
        )

    def update_group(self, name: str, now: int, **values: Any) -> None:
        """Change columns of a server group (``spec``/``capacity`` given as dicts)."""
        for key in ("spec", "capacity"):
            if key in values:
                values[key] = dumps(values[key])
        with self.db.transaction() as conn:
            conn.execute(
                sg_t.update()
                .where(sg_t.c.account == self.account, sg_t.c.name == name)
                .values(updated_at=now, **values)
            )

    def delete_group(self, name: str) -> None:
        """Forget a server group and its instances."""
        with self.db.transaction() as conn:
            conn.execute(
                inst_t.delete().where(inst_t.c.account == self.account, inst_t.c.server_group == name)
            )
            conn.execute(sg_t.delete().where(sg_t.c.account == self.account, sg_t.c.name == name))

    # -- instances -------------------------------------------------------------------------------

    def instances(self, server_group: str | None = None) -> list[Instance]:
        """Instances of the account (of one server group), by slot."""
        query = sa.select(inst_t).where(inst_t.c.account == self.account)
        if server_group is not None:
            query = query.where(inst_t.c.server_group == server_group)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(inst_t.c.server_group, inst_t.c.slot)).all()
        return [_instance(r) for r in rows]

    def instance(self, instance_id: str) -> Instance | None:
        """One instance."""
        with self.db.read() as conn:
            row = conn.execute(
                inst_t.select().where(inst_t.c.account == self.account, inst_t.c.id == instance_id)
            ).first()
        return _instance(row) if row is not None else None

    def used_ports(self, conn: Connection) -> set[int]:
        """Ports held by instances of every account (ports are the machine's, not the account's)."""
        return set(conn.execute(sa.select(inst_t.c.port)).scalars())

    def insert_instance(self, conn: Connection, instance: Instance) -> None:
        """Record an instance before its process starts."""
        conn.execute(
            inst_t.insert().values(
                id=instance.id,
                account=instance.account,
                server_group=instance.server_group,
                slot=instance.slot,
                port=instance.port,
                directory=instance.directory,
                pid=instance.pid,
                pid_start=instance.pid_start,
                state=instance.state,
                traffic=instance.traffic,
                health=dumps(instance.health),
                restarts=instance.restarts,
                next_start_at=instance.next_start_at,
                last_exit=instance.last_exit,
                launched_at=instance.launched_at,
                updated_at=instance.updated_at,
            )
        )

    def update_instance(
        self, instance_id: str, now: int, *, when_state: str | None = None, **values: Any
    ) -> bool:
        """Change columns of an instance (``health`` given as a dict), only while it is in
        ``when_state`` if given (the supervisor never overwrites a stop in progress); whether it did."""
        if "health" in values:
            values["health"] = dumps(values["health"])
        query = inst_t.update().where(inst_t.c.account == self.account, inst_t.c.id == instance_id)
        if when_state is not None:
            query = query.where(inst_t.c.state == when_state)
        with self.db.transaction() as conn:
            return conn.execute(query.values(updated_at=now, **values)).rowcount > 0

    def delete_instance(self, instance_id: str) -> None:
        """Forget an instance."""
        with self.db.transaction() as conn:
            conn.execute(inst_t.delete().where(inst_t.c.account == self.account, inst_t.c.id == instance_id))

    # -- load balancers --------------------------------------------------------------------------

    def load_balancers(self) -> list[LoadBalancer]:
        """Load balancers of the account, by name."""
        with self.db.read() as conn:
            rows = conn.execute(
                lb_t.select().where(lb_t.c.account == self.account).order_by(lb_t.c.name)
            ).all()
        return [_lb(r) for r in rows]

    def load_balancer(self, name: str) -> LoadBalancer | None:
        """One load balancer."""
        with self.db.read() as conn:
            row = conn.execute(
                lb_t.select().where(lb_t.c.account == self.account, lb_t.c.name == name)
            ).first()
        return _lb(row) if row is not None else None

    def upsert_load_balancer(self, lb: LoadBalancer, now: int) -> None:
        """Create or replace a load balancer's spec."""
        with self.db.transaction() as conn:
            found = conn.execute(
                sa.select(lb_t.c.name).where(lb_t.c.account == self.account, lb_t.c.name == lb.name)
            ).first()
            if found is None:
                conn.execute(
                    lb_t.insert().values(
                        account=self.account,
                        name=lb.name,
                        region=lb.region,
                        application=lb.application,
                        spec=dumps(lb.spec),
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                conn.execute(
                    lb_t.update()
                    .where(lb_t.c.account == self.account, lb_t.c.name == lb.name)
                    .values(region=lb.region, application=lb.application, spec=dumps(lb.spec), updated_at=now)
                )

    def delete_load_balancer(self, name: str) -> None:
        """Forget a load balancer."""
        with self.db.transaction() as conn:
            conn.execute(lb_t.delete().where(lb_t.c.account == self.account, lb_t.c.name == name))


def capacity_of(value: Mapping[str, Any]) -> dict[str, int]:
    """``{min, max, desired}`` as ints (missing parts 0)."""
    return {k: int(value.get(k) or 0) for k in ("min", "max", "desired")}
