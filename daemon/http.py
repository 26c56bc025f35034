"""The daemon's few GET endpoints, served by aiohttp on the daemon's own event loop.

aiohttp (already installed: TqSdk depends on it) parses HTTP; the routes answer from the
daemon's memory without locks because they run on the same loop. Connections are bounded
by aiohttp's own limits: header sizes, an idle keep-alive of ``keepalive_s`` and a listen
backlog, so idle sockets do not pile up. The socket is bound here, before aiohttp starts,
so a port in use is one ``OSError`` the caller turns into one line, and port 0 reports
the port the kernel picked.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import anyio
import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from anyio.abc import TaskStatus

log = structlog.get_logger("ghtraderd.http")


class _NoClientErrors(logging.Filter):
    """A malformed request is the client's fault: aiohttp answers 400; no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, HttpProcessingError)


logging.getLogger("aiohttp.server").addFilter(_NoClientErrors())

MAX_HEADER_BYTES = 8192
BACKLOG = 64


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes


Route = Callable[[], Awaitable[Response]]


def json_response(body: bytes, status: int = 200) -> Response:
    return Response(status, "application/json", body)


def text_response(text: str, status: int = 200) -> Response:
    return Response(status, "text/plain; charset=utf-8", text.encode())


class HttpServer:
    def __init__(
        self, host: str, port: int, routes: Mapping[str, Route], *, keepalive_s: float = 5.0
    ) -> None:
        self.host = host
        self.port = port
        self.routes = routes
        self.keepalive_s = keepalive_s

    def bind(self) -> socket.socket:
        """The listening socket; ``OSError`` when the address is in use or not ours."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(BACKLOG)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        return sock

    async def serve(
        self,
        sock: socket.socket | None = None,
        *,
        task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve on ``sock`` (default: ``bind()``) until cancelled; reports the bound port
        through ``task_status``."""
        sock = sock if sock is not None else self.bind()
        app = web.Application()
        for path, route in self.routes.items():
            app.router.add_get(path, _handler(route), allow_head=True)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            keepalive_timeout=self.keepalive_s,
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
        )
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
            port = int(sock.getsockname()[1])
            log.info("http_listening", address=f"{self.host}:{port}")
            task_status.started(port)
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await runner.cleanup()


def _handler(route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        answer = await route()
        content_type, _, charset = answer.content_type.partition("; charset=")
        return web.Response(
            status=answer.status,
            body=answer.body,
            content_type=content_type,
            charset=charset or None,
        )

    return handle
