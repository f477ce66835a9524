"""A database outage seen by the scheduler (issue #10, item 17): one warning per role, retries with
backoff (not every round), one line per role when the database is back; not a traceback per role
per round (212 of them in the reported outage). PostgreSQL is reached through a real TCP relay
that the test cuts and restores; the clock is moved, not waited for."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from gennaker.clock import FrozenClock
from gennaker.services import Services
from gennaker.testing import make_services
from gennaker.triggers.scheduler import Scheduler
from tests.conftest import PostgresSchema, require_postgres
from tests.engine.test_faults import TcpProxy
from tests.triggers.conftest import save_pipeline

LOGGER = "gennaker"
#: The lease-held roles, and the notification sender (which every scheduler runs).
PARTS = ("echo.cron", "igor.docker", "echo.dispatcher", "notifications")


@pytest.fixture
def through_proxy() -> Iterator[tuple[Services, TcpProxy]]:
    require_postgres()
    schema = PostgresSchema()
    url = sa.engine.make_url(schema.url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    relayed = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    services = make_services(relayed, clock=FrozenClock())
    try:
        yield services, proxy
    finally:
        proxy.cut()
        services.close()
        schema.drop()
        # Connections the outage broke are dropped by the pool without a clean close; collect them
        # here, so their ResourceWarning is not raised in whichever test runs next.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def test_an_outage_is_one_warning_per_role_and_one_line_when_it_ends(
    through_proxy: tuple[Services, TcpProxy], caplog: pytest.LogCaptureFixture
) -> None:
    services, proxy = through_proxy
    clock: FrozenClock = services.clock  # type: ignore[assignment]
    save_pipeline(services, triggers=[{"type": "cron", "enabled": True, "cronExpression": "0 0 * * * ?"}])
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    async def main() -> tuple[dict[str, int], list[logging.LogRecord], list[logging.LogRecord]]:
        scheduler = Scheduler(services, holder="scheduler-1")
        try:
            await scheduler.run_once()  # healthy
            caplog.clear()
            proxy.cut()
            for _ in range(200):  # 200 rounds, one a second, as run_scheduler does
                await scheduler.run_once()
                clock.advance(ms=1_000)
            outages = getattr(scheduler, "_outages", {})
            attempts = {name: failures for name, (failures, _) in outages.items()}
            during = list(caplog.records)
            caplog.clear()
            proxy.start()
            clock.advance(ms=60_000)
            for _ in range(5):
                await scheduler.run_once()
                clock.advance(ms=1_000)
            return attempts, during, list(caplog.records)
        finally:
            await scheduler.aclose()

    attempts, during, after = asyncio.run(main())
    warnings = [r for r in during if r.levelno >= logging.WARNING and r.name == "gennaker.triggers.scheduler"]
    assert [r for r in during if r.levelno >= logging.ERROR] == []  # no tracebacks from anything
    assert sorted(r.getMessage().split(":")[0] for r in warnings) == sorted(
        f"scheduler role {name}" for name in PARTS
    )
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in warnings)
    assert all("the database is unavailable" in r.getMessage() for r in warnings)
    # Backoff: 1, 2, 4 ... 60 s between attempts, so a handful of tries in 200 s, not 200.
    assert set(attempts) == set(PARTS)
    assert all(3 <= n <= 12 for n in attempts.values()), attempts
    recovered = [
        r for r in after if "reachable again" in r.getMessage() and r.name == "gennaker.triggers.scheduler"
    ]
    assert sorted(r.getMessage().split(":")[0] for r in recovered) == sorted(
        f"scheduler role {name}" for name in PARTS
    )
    assert [r for r in after if r.levelno >= logging.WARNING] == []
