"""Helpers shipped for tests, ours and plugin authors': build services on a throw-away database and
run the engine until it has nothing left to do, moving a frozen clock instead of sleeping."""

from __future__ import annotations

import asyncio
from typing import Any

from gennaker.clock import FrozenClock
from gennaker.config import Settings, load_settings
from gennaker.engine.processor import Processor, drain
from gennaker.services import Services, build_services


def make_services(
    database_url: str = "memory://",
    *,
    clock: FrozenClock | None = None,
    plugins: tuple[object, ...] = (),
    settings: Settings | None = None,
    **overrides: Any,
) -> Services:
    """Services on ``database_url`` (migrated) with a frozen clock and extra plugins."""
    if settings is None:
        settings = load_settings(
            environ={},
            overrides={
                "database.url": database_url,
                "engine.verify_writes": True,
                **{k.replace("__", "."): v for k, v in overrides.items()},
            },
        )
    return build_services(settings, clock=clock or FrozenClock(), plugins=plugins, load_entry_points=False)


def run_until_idle(services: Services, *, advance_clock: bool = True, concurrency: int = 4) -> int:
    """Process every message, advancing a FrozenClock to delayed ones; returns messages handled."""
    processor = Processor(services, concurrency=concurrency)
    clock = services.clock if advance_clock and isinstance(services.clock, FrozenClock) else None
    return asyncio.run(drain(processor, clock=clock))
