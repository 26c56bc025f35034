"""A real QuestDB server for the test session (a pytest plugin, see ``tests/conftest.py``).

Why a plugin and not a Makefile step: the server must be stopped whatever happens (a test
that crashes, Ctrl-C, a failed assertion in a fixture), and it must start only when a
QuestDB test is collected, so ``pytest tests/test_ticks.py`` stays as fast as before.

- ``questdb`` (session fixture) is the server every QuestDB test writes to. If the user
  set ``GHTRADER_TEST_QUESTDB_ILP`` and ``GHTRADER_TEST_QUESTDB_PG``, that server is used
  and nothing is started. Otherwise, when Java >= 17 and the vendored
  ``../shared/vendor/questdb/start.sh`` (or ``$QUESTDB_START_SH``) exist, the first test
  that asks for it starts one in a temporary root on free loopback ports with the
  project's ``infra/questdb/server.conf``, sets the two variables (so subprocesses see
  them too), and the session's end stops it (SIGTERM, then SIGKILL) and removes the root.
  Without them the test skips with the reason.
- Tests that freeze, kill or restart the server ask for ``own_questdb``: the session's
  server when this plugin started it, a skip when it is the user's (never kill theirs).
- In CI (``CI=true``) a QuestDB test that skips although this machine can run the server
  is turned into a failure: a suite that silently skipped its integration tests passed
  nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from ghtrader_core.store.questdb.ilp import IlpSettings
from ghtrader_core.store.questdb.pg import PgSettings
from ghtrader_core.store.questdb.store import QuestDBSettings

REPO = Path(__file__).resolve().parents[1]
ENV_ILP = "GHTRADER_TEST_QUESTDB_ILP"
ENV_PG = "GHTRADER_TEST_QUESTDB_PG"
ENV_START = "QUESTDB_START_SH"
SERVER_CONF = REPO / "infra" / "questdb" / "server.conf"
MARK = "questdb"
PASSWORD = "quest"


def start_script() -> Path:
    override = os.environ.get(ENV_START)
    if override:
        return Path(override)
    vendored = Path("shared", "vendor", "questdb", "start.sh")
    for parent in REPO.parents:  # <repo>/../shared in CI; further up in a worktree
        if (parent / vendored).is_file():
            return parent / vendored
    return REPO.parent / vendored


def java_major() -> int | None:
    java = shutil.which("java")
    if java is None:
        return None
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def why_unavailable() -> str | None:
    """None if this machine can start the vendored server, else the reason it cannot."""
    script = start_script()
    if not script.is_file():
        return f"no QuestDB server script at {script} (set {ENV_START} or {ENV_ILP}/{ENV_PG})"
    major = java_major()
    if major is None:
        return "java not found: the vendored QuestDB server needs Java 17 or later"
    if major < 17:
        return f"Java {major} found: the vendored QuestDB server needs Java 17 or later"
    return None


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Endpoint:
    """Where a QuestDB answers, as the integration variables spell it."""

    ilp: str  # e.g. http::addr=127.0.0.1:9000;
    pg: str  # e.g. postgresql://admin:quest@127.0.0.1:8812/qdb
    server: QuestDBServer | None = None  # set when this plugin started (and owns) it

    @property
    def http_host_port(self) -> tuple[str, int]:
        match = re.search(r"addr=([^;:]+):(\d+)", self.ilp)
        assert match, f"{ENV_ILP} has no addr=host:port: {self.ilp!r}"
        return match.group(1), int(match.group(2))

    def settings(self, *, password: str | None = None) -> QuestDBSettings:
        host, port = self.http_host_port
        dsn = urlparse(self.pg)
        return QuestDBSettings(
            ilp=IlpSettings(host=host, port=port, tls=self.ilp.startswith("https")),
            pg=PgSettings(
                host=dsn.hostname or "127.0.0.1",
                port=dsn.port or 8812,
                user=unquote(dsn.username or "admin"),
                password=password if password is not None else unquote(dsn.password or ""),
                database=(dsn.path or "/qdb").lstrip("/") or "qdb",
                connect_timeout_s=5.0,
                query_timeout_s=30.0,
            ),
            visibility_timeout_s=30.0,
        )

    @property
    def password(self) -> str:
        return unquote(urlparse(self.pg).password or "")

    def toml(self) -> str:
        """The ``[store]`` section of a ghtraderd config pointing at this server."""
        host, port = self.http_host_port
        dsn = urlparse(self.pg)
        return (
            '[store]\nkind = "questdb"\n\n[store.questdb]\n'
            f'host = "{host}"\nhttp_port = {port}\npg_port = {dsn.port or 8812}\n'
            f'user = "{unquote(dsn.username or "admin")}"\n'
            "connect_timeout_s = 5\nvisibility_timeout_s = 30\n"
        )


@dataclass
class QuestDBServer:
    """One vendored QuestDB process in its own root; stop() is idempotent."""

    root: Path
    http: int
    pg: int
    min: int
    pid: int | None = None
    starts: int = field(default=0)

    @classmethod
    def start_new(cls) -> QuestDBServer:
        http, pg, mini = free_ports(3)
        server = cls(Path(tempfile.mkdtemp(prefix="ghtrader-questdb-")), http, pg, mini)
        try:
            server.start()
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def log(self) -> Path:
        return self.root / "log" / "stdout.txt"

    def start(self) -> None:
        """Start (or restart, on the same root and ports) and wait until SQL answers."""
        env = {
            **os.environ,
            "QDB_HTTP_PORT": str(self.http),
            "QDB_PG_PORT": str(self.pg),
            "QDB_MIN_PORT": str(self.min),
            "QDB_SERVER_CONF": str(SERVER_CONF),
            "QDB_HEAP": os.environ.get("QDB_HEAP", "1g"),
            "QDB_PG_PASSWORD": PASSWORD,
            # test servers only: allows ALTER TABLE ... SUSPEND WAL (a suspended table)
            "QDB_DEV_MODE_ENABLED": "true",
        }
        done = subprocess.run(
            ["bash", str(start_script()), str(self.root)],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
        )
        match = re.search(r"pid=(\d+)", done.stdout)
        if done.returncode != 0 or not match:
            raise RuntimeError(f"QuestDB did not start: {done.stdout}{done.stderr}")
        self.pid = int(match.group(1))
        self.starts += 1

    def endpoint(self) -> Endpoint:
        return Endpoint(
            f"http::addr=127.0.0.1:{self.http};",
            f"postgresql://admin:{PASSWORD}@127.0.0.1:{self.pg}/qdb",
            self,
        )

    def signal(self, sig: int) -> None:
        assert self.pid is not None, "the server is not running"
        os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL, as a crash: no in-flight commit is finished."""
        self.signal(signal.SIGKILL)
        self._reap(10.0)
        self.pid = None

    def _reap(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.pid is not None and time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return True
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, os.WNOHANG)  # not our child (nohup'ed by start.sh)
            time.sleep(0.1)
        return self.pid is None

    def stop(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGCONT)  # a frozen JVM cannot handle SIGTERM
                os.kill(self.pid, signal.SIGTERM)
                if not self._reap(20.0):
                    os.kill(self.pid, signal.SIGKILL)
                    self._reap(10.0)
            self.pid = None
        for _ in range(3):  # a JVM on its way out may still be writing its log
            shutil.rmtree(self.root, ignore_errors=True)
            if not self.root.exists():
                break
            time.sleep(0.5)


def user_endpoint() -> Endpoint | None:
    ilp, pg = os.environ.get(ENV_ILP, ""), os.environ.get(ENV_PG, "")
    return Endpoint(ilp, pg) if ilp and pg else None


_USER = user_endpoint()  # read once at import: the session later sets these itself
_started: list[QuestDBServer] = []


def _stop_all() -> None:
    while _started:
        _started.pop().stop()


atexit.register(_stop_all)  # the fixture's teardown is the normal path; this the last resort


@pytest.fixture(scope="session")
def questdb() -> Iterator[Endpoint]:
    """The session's QuestDB (the user's, or one started here); skips when there is none."""
    if _USER is not None:
        yield _USER
        return
    reason = why_unavailable()
    if reason is not None:
        pytest.skip(f"needs a QuestDB server: {reason}")
    server = QuestDBServer.start_new()
    _started.append(server)
    endpoint = server.endpoint()
    saved = {k: os.environ.get(k) for k in (ENV_ILP, ENV_PG)}
    os.environ[ENV_ILP], os.environ[ENV_PG] = endpoint.ilp, endpoint.pg
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if server in _started:
            _started.remove(server)
        server.stop()


@pytest.fixture
def own_questdb(questdb: Endpoint) -> Iterator[QuestDBServer]:
    """The session's server when the tests own it (to freeze, kill and restart it)."""
    server = questdb.server
    if server is None:
        pytest.skip("freezes and kills the server: only with the server the tests started")
    try:
        yield server
    finally:  # whatever the test did, leave it running for the next one
        if server.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                server.signal(signal.SIGCONT)
        else:
            server.start()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARK}: runs against a real QuestDB server (started by tests/questdb_server)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "questdb" in getattr(item, "fixturenames", ()):
            item.add_marker(MARK)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not (report.skipped and item.get_closest_marker(MARK) is not None):
        return
    if os.environ.get("CI", "").lower() not in ("true", "1", "yes"):
        return
    if _USER is None and why_unavailable() is not None:
        return  # this machine cannot run the server: the skip is honest
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"CI=true and a QuestDB server is available here, yet this QuestDB test skipped: "
        f"{reason}"
    )
