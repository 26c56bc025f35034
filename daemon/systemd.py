"""sd_notify, written directly: one datagram per state change to ``$NOTIFY_SOCKET``.

The protocol is small enough not to need a library: newline-separated ``KEY=VALUE``
assignments sent as one AF_UNIX datagram; a socket name starting with ``@`` lives in the
abstract namespace (a leading NUL byte). Without ``NOTIFY_SOCKET`` (not under systemd)
every call is a no-op, so the daemon runs the same way from a terminal.

The environment is read once by the command (``from_environ``), never deep in the code.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

import structlog

log = structlog.get_logger("ghtraderd.systemd")


def _address(name: str) -> str | bytes:
    if name.startswith("@"):
        return b"\0" + name[1:].encode()
    return name


@dataclass
class Notifier:
    """Sends READY/RELOADING/STOPPING/STATUS/WATCHDOG; ``watchdog_s`` is the ping period."""

    socket_name: str | None = None
    watchdog_usec: int = 0  # systemd's WatchdogSec= in microseconds; 0: no watchdog

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        name = env.get("NOTIFY_SOCKET") or None
        usec = 0
        pid = env.get("WATCHDOG_PID")
        if env.get("WATCHDOG_USEC", "").isdigit() and (pid is None or pid == str(os.getpid())):
            usec = int(env["WATCHDOG_USEC"])
        return cls(name, usec)

    @property
    def enabled(self) -> bool:
        return self.socket_name is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """Half the watchdog time-out, as sd_watchdog_enabled(3) recommends; None if off."""
        return self.watchdog_usec / 2e6 if self.watchdog_usec > 0 else None

    def notify(self, *assignments: str) -> bool:
        """Send one datagram; never raise (a lost notification must not stop the daemon)."""
        if self.socket_name is None:
            return False
        payload = "\n".join(assignments).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.sendto(payload, _address(self.socket_name))
        except OSError as exc:
            log.warning("sd_notify_failed", socket=self.socket_name, error=str(exc))
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self, status: str | None = None) -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")
