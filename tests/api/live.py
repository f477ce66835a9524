"""Test helpers: an in-process client of the ASGI app, and the app served for real over HTTP on
127.0.0.1 (uvicorn in a thread, optionally with a worker) for streams, the CLI and schemathesis."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import threading
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import httpx
import uvicorn
from fastapi import FastAPI

from gennaker.api import create_app
from gennaker.engine.processor import Processor
from gennaker.services import Services


class SyncClient:
    """httpx over the ASGI app, called synchronously (Starlette's TestClient without its deprecation)."""

    def __init__(self, app: FastAPI, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://localhost", headers=headers)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request."""
        return self._portal.call(functools.partial(self._client.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._portal_cm.__exit__(None, None, None)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class LiveServer:
    """The API (and, with ``worker=True``, a Processor) on a free 127.0.0.1 port, in a thread."""

    def __init__(self, services: Services, *, worker: bool = False) -> None:
        self.services = services
        self.worker = worker
        self.app = create_app(services)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._sock = sock
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="live-server")

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="on")
        server = _Server(config)
        tasks = [asyncio.create_task(server.serve(sockets=[self._sock]))]
        if self.worker:
            tasks.append(asyncio.create_task(Processor(self.services, poll_interval_ms=50).run(self._stop)))
        while not server.started:
            await asyncio.sleep(0.01)
        self._ready.set()
        await self._stop.wait()
        self.app.state.events.begin_shutdown()
        server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the live server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
