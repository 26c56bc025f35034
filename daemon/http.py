"""A tiny HTTP/1.1 server on the daemon's own event loop, for a handful of GET endpoints.

Why not a framework: five read-only endpoints, answered from memory, do not justify a
second event loop, a thread or a dependency, and on the loop they see the daemon's state
without locks. Every read has a deadline and a size bound; connections are kept alive
(a scraper or a dashboard asks again and again) until idle for ``idle_timeout_s``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import anyio
import structlog
from anyio.abc import SocketAttribute, SocketStream, TaskStatus

log = structlog.get_logger("ghtraderd.http")

MAX_HEADER_BYTES = 8192


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes


Route = Callable[[], Awaitable[Response]]
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            503: "Service Unavailable"}


def json_response(body: bytes, status: int = 200) -> Response:
    return Response(status, "application/json", body)


def text_response(text: str, status: int = 200) -> Response:
    return Response(status, "text/plain; charset=utf-8", text.encode())


class HttpServer:
    def __init__(
        self, host: str, port: int, routes: Mapping[str, Route], *, idle_timeout_s: float = 30
    ) -> None:
        self.host = host
        self.port = port
        self.routes = routes
        self.idle_timeout_s = idle_timeout_s

    async def serve(self, *, task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED) -> None:
        """Bind, report the bound port through ``task_status``, serve until cancelled."""
        listener = await anyio.create_tcp_listener(local_host=self.host, local_port=self.port)
        port = int(listener.listeners[0].extra(SocketAttribute.local_port))
        log.info("http_listening", address=f"{self.host}:{port}")
        async with listener:
            task_status.started(port)
            await listener.serve(self._connection)

    async def _connection(self, stream: SocketStream) -> None:
        async with stream:
            buffer = b""
            while True:
                head = b""
                with anyio.move_on_after(self.idle_timeout_s):
                    while b"\r\n\r\n" not in buffer:
                        if len(buffer) > MAX_HEADER_BYTES:
                            await self._send(stream, text_response("too large\n", 400), False)
                            return
                        try:
                            buffer += await stream.receive()
                        except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                            return
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                if not head:
                    return  # idle too long: close
                keep = await self._answer(stream, head)
                if not keep:
                    return

    async def _answer(self, stream: SocketStream, head: bytes) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            await self._send(stream, text_response("bad request\n", 400), False)
            return False
        method, target, proto = parts
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in lines[1:])
        }
        conn = headers.get("connection", "").lower()
        keep = conn != "close" if proto == "HTTP/1.1" else conn == "keep-alive"
        path = target.split("?", 1)[0]
        route = self.routes.get(path)
        if method not in ("GET", "HEAD"):
            response = text_response("only GET\n", 405)
        elif route is None:
            response = text_response(f"not found; try {', '.join(sorted(self.routes))}\n", 404)
        else:
            try:
                response = await route()
            except Exception as exc:  # an endpoint's bug must not take the daemon down
                log.exception("http_handler_failed", path=path)
                response = text_response(f"error: {type(exc).__name__}\n", 503)
        return await self._send(stream, response, keep, head_only=method == "HEAD")

    @staticmethod
    async def _send(
        stream: SocketStream, response: Response, keep: bool, *, head_only: bool = False
    ) -> bool:
        reason = _REASONS.get(response.status, "")
        header = (
            f"HTTP/1.1 {response.status} {reason}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            "Cache-Control: no-store\r\n"
            f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n"
        ).encode("latin-1")
        try:
            await stream.send(header if head_only else header + response.body)
        except (anyio.BrokenResourceError, OSError):
            return False
        return keep
