"""Running the server roles in one asyncio loop: the API (uvicorn), the worker (Processor) and the
scheduler, with a graceful stop on SIGTERM/SIGINT (stop leasing, finish in-flight work, exit 0)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from fastapi import FastAPI

    from gennaker.engine.processor import Processor
    from gennaker.queue.liveness import Liveness
    from gennaker.services import Services

log = logging.getLogger("gennaker.server")

API, WORKER, SCHEDULER = "api", "worker", "scheduler"
#: Where the scheduler role comes from (written by the triggers work); absent means "nothing to do".
SCHEDULER_MODULE = "gennaker.triggers.scheduler"


SWITCH_INTERVAL_S = 0.001


class StartupError(Exception):
    """The process cannot start (port taken, address invalid); the message says why."""


@dataclass
class Started:
    """What the banner shows once the roles run."""

    roles: tuple[str, ...]
    url: str | None
    scheduler: bool


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the runner owns SIGTERM/SIGINT (uvicorn would
    re-raise the signal after shutting down, and the process would not exit 0)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, bound before uvicorn starts so a taken port is a clear error."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot resolve the address {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def load_scheduler() -> Callable[..., Any] | None:
    """``run_scheduler(services, stop_event)`` from the triggers package, if it is installed."""
    try:
        module = importlib.import_module(SCHEDULER_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name is not None and SCHEDULER_MODULE.startswith(exc.name):
            return None
        raise
    run: Callable[..., Any] | None = getattr(module, "run_scheduler", None)
    return run


async def _run_scheduler(run: Callable[..., Any], services: Services, stop: asyncio.Event) -> None:
    if inspect.iscoroutinefunction(run):
        await run(services, stop)
        return
    # A blocking scheduler runs in a thread and gets a threading.Event.
    thread_stop = threading.Event()
    watcher = asyncio.ensure_future(stop.wait())
    watcher.add_done_callback(lambda _: thread_stop.set())
    try:
        await asyncio.to_thread(run, services, thread_stop)
    finally:
        watcher.cancel()


async def run_roles(
    services: Services,
    roles: tuple[str, ...],
    *,
    sock: socket.socket | None = None,
    url: str | None = None,
    concurrency: int | None = None,
    access_log: bool = False,
    on_started: Callable[[Started], None] | None = None,
) -> None:
    """Run ``roles`` until SIGTERM/SIGINT, then stop them gracefully."""
    from gennaker.engine.processor import Processor

    loop = asyncio.get_running_loop()
    # API requests, handlers and the scheduler share one GIL; the default 5 ms switch interval lets a
    # busy handler thread hold up a quick request by whole milliseconds at each hand-off.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    tasks: dict[str, asyncio.Task[Any]] = {}
    processor: Processor | None = None
    server: _Server | None = None
    app: FastAPI | None = None
    if API in roles:
        assert sock is not None
        from gennaker.api import create_app

        app = create_app(services)
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=access_log,
            lifespan="on",
            timeout_graceful_shutdown=10,
            server_header=False,
        )
        server = _Server(config)
        tasks[API] = asyncio.create_task(server.serve(sockets=[sock]), name=API)
        while not server.started and not tasks[API].done():
            await asyncio.sleep(0.01)
    # The worker and the scheduler start once the API listens: what they import and set up is not
    # needed to answer the first request, and work queued meanwhile waits in the database.
    liveness = None
    if WORKER in roles:
        liveness = await asyncio.to_thread(_recover_leases, services, roles)
        processor = Processor(services, concurrency=concurrency)
        tasks[WORKER] = asyncio.create_task(processor.run(stop), name=WORKER)
        if liveness is not None:
            tasks["liveness"] = asyncio.create_task(_keep_alive(liveness, stop), name="liveness")
        if SCHEDULER not in roles:
            tasks["agents"] = asyncio.create_task(_run_agents(services, stop), name="agents")
    # Imported in a thread: the API answers meanwhile instead of waiting on the import.
    scheduler = await asyncio.to_thread(load_scheduler) if SCHEDULER in roles else None
    if scheduler is not None:
        tasks[SCHEDULER] = asyncio.create_task(_run_scheduler(scheduler, services, stop), name=SCHEDULER)
    elif SCHEDULER in roles:
        log.info("no scheduler is installed (%s); the scheduler role has nothing to do", SCHEDULER_MODULE)
    if app is not None:
        app.state.metrics.processor = processor
    if on_started is not None and not any(t.done() for t in tasks.values()):
        on_started(Started(roles, url, scheduler is not None))
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({stopper, *tasks.values()}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    failed = [name for name, task in tasks.items() if task.done() and not stop.is_set()]
    log.info("stopping: no new work is taken; waiting for work in flight")
    stop.set()
    if app is not None:
        app.state.events.begin_shutdown()
    if server is not None:
        server.should_exit = True
    results = await asyncio.gather(*tasks.values(), return_exceptions=True)
    for name, result in zip(tasks, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            log.error("the %s role failed: %s", name, result, exc_info=result)
    if liveness is not None:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(liveness.leave)
    if failed:
        raise StartupError(f"the {', '.join(failed)} role stopped unexpectedly")
    log.info("stopped")


async def _run_agents(services: Services, stop: asyncio.Event) -> None:
    """A worker without the scheduler role still supervises deployed instances (under leases,
    so one process per account does it, whichever roles the processes have)."""
    from gennaker.providers.agents import run_agents

    holder = f"{socket.gethostname()}:{os.getpid()}:worker"
    await run_agents(services.clouddriver, services.db, services.clock, stop, holder=holder)


def _recover_leases(services: Services, roles: tuple[str, ...]) -> Liveness | None:
    """Before the worker starts: give back what a killed predecessor held (see queue/liveness.py).
    Returns this worker's liveness row keeper, or None when the queue has no leases to recover."""
    from gennaker.queue.liveness import Liveness, release_all
    from gennaker.queue.sql import SqlQueue

    queue = services.queue
    if not isinstance(queue, SqlQueue):
        return None
    if services.db.is_sqlite and set(roles) == {API, WORKER, SCHEDULER}:
        release_all(services.db, services.clock)  # gennaker up: alone on its database
    ttl_ms = int(services.settings.worker.liveness_seconds * 1000)
    liveness = Liveness(services.db, services.clock, queue.holder, ttl_ms=ttl_ms)
    try:
        liveness.beat()
        liveness.reap()
    except Exception as exc:  # the worker's own retry loop reports an unreachable database
        log.warning("cannot record this worker's liveness yet: %s", exc)
    return liveness


async def _keep_alive(liveness: Liveness, stop: asyncio.Event) -> None:
    """Renew this worker's liveness row and reap expired ones until ``stop``."""
    interval = max(0.05, liveness.ttl_ms / 3000)
    failing = False
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        try:
            await asyncio.to_thread(liveness.beat)
            await asyncio.to_thread(liveness.reap)
        except Exception as exc:
            if not failing:
                log.warning("cannot renew this worker's liveness row: %s", exc)
            failing = True
            continue
        if failing:
            log.info("this worker's liveness row is renewed again")
            failing = False
