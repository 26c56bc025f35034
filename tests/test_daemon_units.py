"""The daemon's parts in-process: sd_notify, reload classes, timetable, lock, HTTP, caches."""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import anyio
import pytest

from daemon.config import Config
from daemon.coverage_cache import CoverageCache, render
from daemon.events import StoredDay
from daemon.http import HttpServer, json_response
from daemon.instance import InstanceLock
from daemon.metrics import Metrics, instrument_store
from daemon.planner import BEIJING
from daemon.reload import diff
from daemon.systemd import Notifier
from daemon.timetable import effective_end, last_ingestible_day, next_new_day_at
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.errors import StoreLockedError
from ghtrader_core.records import CoverageRow, DayStatus, DayValidation, Finding, Gap, Severity


def _cfg(**sections: dict[str, object]) -> Config:
    raw: dict[str, object] = {"ingest": {"symbols": ["KQ.m@SHFE.cu"], "start": "2025-11-03"}}
    raw.update(sections)
    return Config(**raw)  # type: ignore[arg-type]


# -- sd_notify --------------------------------------------------------------------------
@pytest.mark.parametrize("abstract", [True, False])
def test_notifier_sends_datagrams(tmp_path: Path, abstract: bool) -> None:
    name = f"@t-{uuid.uuid4().hex}" if abstract else str(tmp_path / "n.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name[1:].encode() if abstract else name)
        sock.settimeout(5)
        n = Notifier.from_environ({"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "3000000"})
        assert n.watchdog_interval_s == 1.5
        assert n.ready("up")
        assert sock.recv(1024) == b"READY=1\nSTATUS=up"
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        n.reloading()
        lines = sock.recv(1024).decode().split("\n")
        assert lines[0] == "RELOADING=1"
        usec = int(lines[1].removeprefix("MONOTONIC_USEC="))
        assert before <= usec <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        n.watchdog()
        assert sock.recv(1024) == b"WATCHDOG=1"
        n.stopping()
        assert sock.recv(1024) == b"STOPPING=1"


def test_notifier_without_socket_is_a_no_op_and_watchdog_pid_is_respected() -> None:
    assert not Notifier.from_environ({}).ready()
    other = Notifier.from_environ({"WATCHDOG_USEC": "1000", "WATCHDOG_PID": str(os.getpid() + 1)})
    assert other.watchdog_interval_s is None
    mine = Notifier.from_environ({"WATCHDOG_USEC": "1000", "WATCHDOG_PID": str(os.getpid())})
    assert mine.watchdog_interval_s == 0.0005
    # a socket nobody listens on: logged, never raised
    assert not Notifier(f"@nobody-{uuid.uuid4().hex}").ready()


# -- reload classes ---------------------------------------------------------------------
def test_reload_diff_classifies_keys_and_keeps_restart_only_values() -> None:
    running = _cfg()
    loaded = _cfg(
        ingest={"symbols": ["KQ.m@SHFE.cu", "KQ.m@DCE.m"], "start": "2025-11-03"},
        download={"concurrency": 1},
        sink={"flush_days": 1},
        log={"level": "debug"},
        daemon={"coverage_cache": False, "state_dir": "/elsewhere"},
        store={"path": "/other.duckdb"},
        metrics={"address": "127.0.0.1:1"},
    )
    change = diff(running, loaded)
    assert change.replan == ("ingest.symbols",)
    assert set(change.live) == {
        "download.concurrency", "sink.flush_days", "log.level", "daemon.coverage_cache",
    }
    assert set(change.restart) == {"store.path", "metrics.address", "daemon.state_dir"}
    eff = change.effective
    assert eff.store == running.store and eff.metrics.address == running.metrics.address
    assert eff.daemon.state_dir == running.daemon.state_dir
    assert eff.download.concurrency == 1 and not eff.daemon.coverage_cache
    assert eff.ingest.symbols == ["KQ.m@SHFE.cu", "KQ.m@DCE.m"]
    assert not diff(running, _cfg()).changed


def test_reload_of_inline_validation_switch_replans() -> None:
    change = diff(_cfg(), _cfg(validation={"enabled": False}))
    assert change.replan == ("validation.enabled",) and not change.restart


# -- timetable --------------------------------------------------------------------------
def test_timetable_new_day_after_close_plus_delay() -> None:
    cal = TradingCalendar()
    fri = date(2025, 11, 7)
    before = datetime(2025, 11, 7, 15, 59, tzinfo=BEIJING)
    after = datetime(2025, 11, 7, 16, 0, tzinfo=BEIJING)
    assert last_ingestible_day(cal, before, 2700) == date(2025, 11, 6)
    assert last_ingestible_day(cal, after, 2700) == fri
    saturday = datetime(2025, 11, 8, 12, 0, tzinfo=BEIJING)
    assert last_ingestible_day(cal, saturday, 2700) == fri
    assert effective_end(cal, date(2025, 11, 5), after, 2700) == date(2025, 11, 5)
    # the next one is Monday's, at 15:15 + 45 min Beijing
    at = next_new_day_at(cal, None, fri, 2700)
    assert at == datetime(2025, 11, 10, 16, 0, tzinfo=BEIJING)
    assert next_new_day_at(cal, fri, fri, 2700) is None  # the configured range is closed
    assert at.astimezone(UTC).hour == 8


# -- single instance --------------------------------------------------------------------
def test_instance_lock_names_the_holder(tmp_path: Path) -> None:
    store = _cfg(store={"path": str(tmp_path / "s.duckdb")}).store
    held = rf"pid {os.getpid()}\b.*s\.duckdb"
    with InstanceLock.for_store(tmp_path, store), pytest.raises(StoreLockedError, match=held):
        InstanceLock.for_store(tmp_path, store).acquire()
    with InstanceLock.for_store(tmp_path, store):  # released on exit
        pass
    other = _cfg(store={"path": str(tmp_path / "t.duckdb")}).store
    with InstanceLock.for_store(tmp_path, store), InstanceLock.for_store(tmp_path, other):
        pass  # one lock per store, not per state dir


# -- HTTP -------------------------------------------------------------------------------
async def test_http_server_keep_alive_404_and_405() -> None:
    async def hello() -> object:
        return json_response(b'{"ok":true}')

    server = HttpServer("127.0.0.1", 0, {"/hello": hello})  # type: ignore[dict-item]
    async with anyio.create_task_group() as tg:
        port = await tg.start(server.serve)
        async with await anyio.connect_tcp("127.0.0.1", port) as s:
            for _ in range(2):  # two requests on one connection
                await s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while not data.endswith(b'{"ok":true}'):
                    data += await s.receive()
                assert data.startswith(b"HTTP/1.1 200 OK\r\n")
                assert b"Content-Length: 11\r\n" in data
        for request, status in (
            (b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"404"),
            (b"POST /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"405"),
            (b"garbage\r\n\r\n", b"400"),
        ):
            async with await anyio.connect_tcp("127.0.0.1", port) as s:
                await s.send(request)
                data = b""
                with anyio.fail_after(5):
                    while True:
                        try:
                            data += await s.receive()
                        except anyio.EndOfStream:
                            break
                assert data.split(b" ")[1] == status
        tg.cancel_scope.cancel()


# -- coverage cache ---------------------------------------------------------------------
def test_coverage_cache_matches_the_store_view_and_updates() -> None:
    cal = TradingCalendar()
    days = tuple(cal.trading_days(date(2025, 11, 3), date(2025, 11, 5)))
    rows = [CoverageRow("KQ.m@SHFE.cu", days[0], days[-1], 3, 301, days)]
    cache = CoverageCache(cal)
    cache.seed(rows)
    symbols = ["KQ.m@SHFE.cu", "KQ.m@DCE.m"]
    start, end = date(2025, 11, 3), date(2025, 11, 7)
    assert cache.json(symbols, start, end) == render(rows, cal, symbols, start, end)
    cache.day_done(StoredDay("KQ.m@DCE.m", date(2025, 11, 4), 50))
    cache.day_done(StoredDay("KQ.m@SHFE.cu", date(2025, 11, 6), 99))
    expected = [
        CoverageRow("KQ.m@DCE.m", days[1], days[1], 1, 50, (days[1],)),
        CoverageRow(
            "KQ.m@SHFE.cu", days[0], date(2025, 11, 6), 4, 400, (*days, date(2025, 11, 6))
        ),
    ]
    assert cache.rows() == expected
    assert cache.json(symbols, start, end) == render(expected, cal, symbols, start, end)


def test_coverage_cache_renders_once_until_something_changes() -> None:
    """What makes /coverage cheap: an unchanged answer is the bytes rendered before (its
    latency is a figure of bench/coverage.py, not a timed assertion)."""
    cal = TradingCalendar()
    days = tuple(cal.trading_days(date(2025, 11, 3), date(2025, 11, 28)))
    symbols = ["KQ.m@SHFE.cu", "KQ.m@DCE.m", "KQ.m@CFFEX.IF"]
    cache = CoverageCache(cal)
    cache.seed([CoverageRow(s, days[0], days[-1], len(days), 10_000, days) for s in symbols])
    first = cache.json(symbols, days[0], days[-1])
    assert cache.json(symbols, days[0], days[-1]) is first
    cache.day_done(StoredDay(symbols[0], date(2025, 12, 1), 5))
    changed = cache.json(symbols, days[0], days[-1])
    assert changed is not first and cache.json(symbols, days[0], days[-1]) is changed
    assert cache.json(symbols[:1], days[0], days[-1]) is not changed  # another range


# -- metrics ----------------------------------------------------------------------------
def test_metrics_observe_validation_and_time_store_calls() -> None:
    m = Metrics(version="test")
    m.planned(10, 4)
    v = DayValidation(
        DayStatus.FAIL, 0.5, 1,
        findings=(Finding("crossed_book", Severity.ERROR, 3),),
        gaps=(Gap("day", 0, 120 * 10**9),),
    )
    m.day_done(StoredDay("KQ.m@SHFE.cu", date(2025, 11, 3), 100, 4096, v))
    reg = m.registry
    assert reg.get_sample_value("ghtraderd_jobs_pending") == 5
    assert reg.get_sample_value("ghtraderd_ingested_bytes_total") == 4096
    assert reg.get_sample_value("ghtraderd_validations_total", {"status": "fail"}) == 1
    crossed = {"check": "crossed_book"}
    assert reg.get_sample_value("ghtraderd_validation_findings_total", crossed) == 3
    assert reg.get_sample_value("ghtraderd_validation_gap_length_seconds_count") == 1

    class FakeStore:
        async def ping(self) -> None:
            return None

        async def coverage(self) -> None:
            raise RuntimeError("down")

    store = instrument_store(FakeStore(), m)

    async def calls() -> None:
        await store.ping()
        with pytest.raises(RuntimeError):
            await store.coverage()

    anyio.run(calls)
    labels = {"query": "ping"}
    assert reg.get_sample_value("ghtraderd_store_query_duration_seconds_count", labels) == 1
    assert reg.get_sample_value("ghtraderd_store_errors_total", {"query": "coverage"}) == 1
    m.reload_result(False)
    assert reg.get_sample_value("ghtraderd_config_last_reload_successful") == 0
    assert reg.get_sample_value("ghtraderd_config_last_reload_success_timestamp_seconds") == 0


# -- live controls ----------------------------------------------------------------------
def test_live_controls_apply_now_and_to_a_pass_that_attaches_later() -> None:
    from daemon.downloader import Downloader
    from daemon.events import Observer
    from daemon.pipeline import LiveControls, retry_policy
    from daemon.sink import BatchingSink

    cfg = _cfg()
    hot = _cfg(download={"concurrency": 1, "retry_attempts": 9}, sink={"flush_days": 1})

    def parts() -> tuple[Downloader, BatchingSink]:
        d = Downloader(None, None, retry_policy(cfg), Observer(), concurrency=4)  # type: ignore[arg-type]
        s = BatchingSink(None, cfg.sink, Observer(), run_id="r", source_name="s",  # type: ignore[arg-type]
                         code_version="v")
        return d, s

    controls = LiveControls()
    downloader, sink = parts()
    controls.attach(downloader, sink)
    controls.apply(hot)
    assert downloader.limiter.total_tokens == 1 and downloader.policy.attempts == 9
    assert sink.config.flush_days == 1
    later_downloader, later_sink = parts()  # a pass that was still planning at the reload
    controls.attach(later_downloader, later_sink)
    assert later_downloader.limiter.total_tokens == 1 and later_sink.config.flush_days == 1
