"""An ASGI app served over real HTTP by uvicorn in a background thread, on a free loopback port.

The thread has its own event loop, so sync fixtures, async tests and a separate app process all
reach the server the same way: over HTTP at `url`. The fake LLM and the OpenID provider of the
tests are served this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import uvicorn

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class LoopbackServer:
    """A context manager that starts `app` and stops it; `before_stop` runs on the server's loop
    first (to end what is in flight)."""

    def __init__(
        self,
        app: Any,
        name: str,
        *,
        before_stop: Callable[[], None] | None = None,
        log_filter: logging.Filter | None = None,
    ) -> None:
        self.app = app
        self.name = name
        self.port = 0
        self.url = ""
        self._before_stop = before_stop
        self._log_filter = log_filter
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> Self:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket = listener
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Bound here, handed to uvicorn: no window for another process to take the port.
            listener.bind((LOOPBACK, 0))
            self.port = listener.getsockname()[1]
            self.url = f"http://{LOOPBACK}:{self.port}"
            if self._log_filter is not None:
                logging.getLogger("uvicorn.error").addFilter(self._log_filter)  # idempotent
            config = uvicorn.Config(
                self.app,
                host=LOOPBACK,
                port=self.port,
                log_config=None,  # leave the process's logging configuration alone
                log_level="warning",
                lifespan="off",
                interface="asgi3",
                proxy_headers=False,
                timeout_graceful_shutdown=2,
            )
            # Loaded here, outside any event loop: loading imports uvicorn's protocol modules,
            # file reads the blocking-call detector would flag on the server's loop.
            config.load()
            self._server = uvicorn.Server(config)
            loop_factory = config.get_loop_factory()
            self._thread = threading.Thread(
                target=self._run, args=(loop_factory,), name=f"{self.name}:{self.port}", daemon=True
            )
            self._thread.start()
            self._wait_started()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def _run(self, loop_factory: Callable[[], asyncio.AbstractEventLoop] | None) -> None:
        try:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(self._serve())
        except BaseException as error:  # noqa: BLE001 - reported by __enter__ (SystemExit too)
            self._error = error

    async def _serve(self) -> None:
        assert self._server is not None
        assert self._socket is not None
        self._loop = asyncio.get_running_loop()
        # Server.serve installs signal handlers only in the main thread (capture_signals).
        await self._server.serve(sockets=[self._socket])

    def _wait_started(self) -> None:
        assert self._server is not None
        assert self._thread is not None
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive():
                message = f"the {self.name} server did not start: {self._error!r}"
                raise RuntimeError(message) from self._error
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} server did not start in time")
            time.sleep(0.005)
        with socket.create_connection((LOOPBACK, self.port), timeout=2):
            pass

    def _stop(self) -> None:
        loop, server, thread = self._loop, self._server, self._thread
        if loop is not None and self._before_stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(self._before_stop)
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=STOP_TIMEOUT)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout=STOP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        if thread is not None and thread.is_alive():
            raise RuntimeError(f"the {self.name} server thread did not stop")
