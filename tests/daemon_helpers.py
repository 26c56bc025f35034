"""Drive a real ``ghtraderd run`` process: config files, a notify socket, HTTP, the store.

The notify socket is the test's clock: every wait is for a message (or an HTTP answer)
with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

GHTRADERD = str(Path(sys.executable).with_name("ghtraderd"))
DEADLINE_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(
    path: Path,
    *,
    store: Path,
    state_dir: Path,
    port: int,
    symbols: tuple[str, ...] = ("KQ.m@SHFE.cu", "KQ.m@DCE.m"),
    start: str = "2025-11-03",
    end: str = "2025-11-07",
    latency_s: float = 0.0,
    concurrency: int = 2,
    flush_days: int = 64,
    daemon: dict[str, Any] | None = None,
    extra: str = "",
) -> Path:
    daemon_keys = {"drain_timeout_s": 20.0, **(daemon or {})}
    text = f"""
[store]
path = "{store}"

[source.synthetic]
seed = 7
latency_s = {latency_s}

[ingest]
symbols = {json.dumps(list(symbols))}
start = {start}
end = {end}

[download]
concurrency = {concurrency}

[sink]
flush_interval_s = 0.2
flush_days = {flush_days}

[daemon]
state_dir = "{state_dir}"
{"".join(f"{k} = {json.dumps(v)}{chr(10)}" for k, v in daemon_keys.items())}
[metrics]
address = "127.0.0.1:{port}"

[log]
format = "json"
{extra}
"""
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class NotifySocket:
    """A datagram socket in the abstract namespace, as systemd's NOTIFY_SOCKET would be."""

    name: str = field(default_factory=lambda: f"@ghtraderd-test-{uuid.uuid4().hex}")
    messages: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(b"\0" + self.name[1:].encode())

    def close(self) -> None:
        self.sock.close()

    def next(self, deadline: float) -> str | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(4096).decode()
        except TimeoutError:
            return None
        self.messages.append(data)
        return data

    def wait_for(self, predicate: Callable[[str], bool], timeout_s: float = DEADLINE_S) -> str:
        deadline = time.monotonic() + timeout_s
        while (msg := self.next(deadline)) is not None:
            if predicate(msg):
                return msg
        raise AssertionError(f"no matching notify message in {timeout_s}s; got {self.messages}")


def has(key: str) -> Callable[[str], bool]:
    return lambda msg: key in msg.split("\n")


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    port: int
    notify: NotifySocket
    log_path: Path

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return int(r.status), bytes(r.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), bytes(exc.read())

    def status(self) -> dict[str, Any]:
        code, body = self.get("/status")
        assert code == 200, body
        return dict(json.loads(body))

    def metric(self, name: str) -> float | None:
        _, body = self.get("/metrics")
        for line in body.decode().splitlines():
            key, _, value = line.rpartition(" ")
            if key == name:  # e.g. 'ghtraderd_ready' or 'ghtraderd_validations_total{status="ok"}'
                return float(value)
        return None

    def poll(
        self, predicate: Callable[[], bool], timeout_s: float = DEADLINE_S, what: str = ""
    ) -> None:
        """Wait for ``predicate``, paced by the daemon's own STATUS beats (no sleeps)."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}: {self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; log:\n{self.log()}")
            self.notify.next(min(deadline, time.monotonic() + 0.2))

    def wait_exit(self, timeout_s: float = DEADLINE_S) -> int:
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"daemon did not exit; log:\n{self.log()}") from None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait_exit()


def start_daemon(
    config: Path, port: int, tmp: Path, *, watchdog_usec: int | None = None
) -> Daemon:
    notify = NotifySocket()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHTRADERD_")}
    env.pop("JOURNAL_STREAM", None)
    env["NOTIFY_SOCKET"] = notify.name
    if watchdog_usec is not None:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    log_path = tmp / f"daemon-{uuid.uuid4().hex[:6]}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [GHTRADERD, "run", "-c", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=tmp,
            env=env,
        )
    return Daemon(proc, port, notify, log_path)


def stored_days(store: Path) -> dict[tuple[str, str], tuple[int, str]]:
    """(symbol, day) -> (tick rows in the store, checkpoint fingerprint)."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        ticks = {
            (s, str(d)): int(n)
            for s, d, n in con.execute(
                "SELECT symbol, trading_day, count(*) FROM ticks GROUP BY ALL"
            ).fetchall()
        }
        cps = {
            (s, str(d)): str(fp)
            for s, d, fp in con.execute(
                "SELECT symbol, trading_day, fingerprint FROM checkpoints"
            ).fetchall()
        }
    finally:
        con.close()
    return {k: (ticks.get(k, 0), cps.get(k, "")) for k in ticks.keys() | cps.keys()}
