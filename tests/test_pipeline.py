"""The real pipeline in burst mode: synthetic source, embedded store, real threads."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import pytest

from daemon.config import Config
from daemon.events import Observer
from daemon.pipeline import backfill
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.errors import (
    FatalError,
    PermanentError,
    RetryableError,
    StoreUnavailableError,
)
from ghtrader_core.records import FailedDay
from ghtrader_core.sources.synthetic.backend import SyntheticConfigModel
from ghtrader_core.sources.synthetic.source import SyntheticConfig, SyntheticSource, simulate_day
from ghtrader_core.store.base import DayWrite
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.symbols import MainSymbol, parse_main
from ghtrader_core.ticks import DayFrame, fingerprint
from tests.pipeline_helpers import config_obj, small_config
from tests.typing_helpers import backend_table

CAL = TradingCalendar()


class CountingSource:
    """The synthetic source, counting fetches and the most days fetched at once."""

    name = "synthetic"

    def __init__(
        self, inner: SyntheticSource, fail: dict[tuple[str, date], Exception] | None = None
    ):
        self.inner = inner
        self.fail = fail or {}
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.fetches = 0

    def fetch_day(self, symbol: MainSymbol, trading_day: date) -> DayFrame:
        with self.lock:
            self.active += 1
            self.fetches += 1
            self.max_active = max(self.max_active, self.active)
        try:
            exc = self.fail.get((str(symbol), trading_day))
            if exc is not None:
                raise exc
            return self.inner.fetch_day(symbol, trading_day)
        finally:
            with self.lock:
                self.active -= 1

    def close(self) -> None:
        pass


class FlakyStore(DuckDBStore):
    """The real DuckDB store, failing or blocking on cue."""

    def __init__(
        self,
        path: Path,
        *,
        down_for: int = 0,
        refuse: set[date] | None = None,
        fatal: bool = False,
        record_down_for: int = 0,
    ) -> None:
        super().__init__(path)
        self.fatal = fatal
        self.record_down_for = record_down_for
        self.down_for = down_for
        self.refuse = refuse or set()
        self.gate: anyio.Event | None = None
        self.write_started = anyio.Event()
        self.write_calls = 0

    async def write_days(self, days: Sequence[DayWrite]) -> None:
        self.write_calls += 1
        self.write_started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fatal:
            raise FatalError("simulated: the store refuses our credentials")
        if self.down_for > 0:
            self.down_for -= 1
            raise StoreUnavailableError("simulated: store down")
        if any(d.day.trading_day in self.refuse for d in days):
            raise PermanentError("simulated: the store refuses this value")
        await super().write_days(days)

    async def record_failed(self, failed: Sequence[FailedDay]) -> None:
        if self.record_down_for > 0:
            self.record_down_for -= 1
            raise StoreUnavailableError("simulated: store down while recording a failure")
        await super().record_failed(failed)


def expected_rows(cfg: Config) -> int:
    days = CAL.trading_days(cfg.ingest.start, cfg.ingest.end or cfg.ingest.start)
    s = SyntheticConfig(seed=backend_table(cfg.source, "synthetic", SyntheticConfigModel).seed)
    return sum(
        simulate_day(s, CAL, parse_main(sym), d)[0].rows for sym in cfg.ingest.symbols for d in days
    )


async def run(cfg: Config, store: DuckDBStore, source: Any, **kw: Any) -> Any:
    await store.open()
    try:
        return await backfill(cfg, store, source, CAL, **kw)
    finally:
        await store.close()


def source_for(cfg: Config, **kw: Any) -> SyntheticSource:
    seed = backend_table(cfg.source, "synthetic", SyntheticConfigModel).seed
    return SyntheticSource(CAL, SyntheticConfig(seed=seed, **kw))


async def test_backfill_stores_every_day_then_skips_them(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path))
    store = DuckDBStore(cfg.store.path)
    first = await run(cfg, store, source_for(cfg))
    assert (first.planned, first.downloaded, first.failed, first.skipped) == (6, 6, 0, 0)
    assert first.rows == expected_rows(cfg)
    second = await run(cfg, store, source_for(cfg))
    assert (second.planned, second.downloaded, second.skipped, second.rows) == (0, 0, 6, 0)
    await store.open()
    counts = await store.table_counts()
    await store.close()
    assert counts["ticks"] == first.rows and counts["checkpoints"] == 6
    assert counts["manifests"] == 6 and counts["ingest_runs"] == 2


async def test_concurrency_bounds_days_in_flight(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path, concurrency=2, end="2025-11-07"))
    src = CountingSource(source_for(cfg, latency_s=0.05))
    summary = await run(cfg, DuckDBStore(cfg.store.path), src)
    assert summary.downloaded == 10
    assert src.max_active == 2


@pytest.mark.slow
async def test_a_slow_store_fills_the_queue_and_downloads_wait(tmp_path: Path) -> None:
    cfg = config_obj(
        small_config(
            tmp_path, concurrency=2, end="2025-11-07", extra="queue_days = 1\nflush_days = 1"
        )
    )
    assert (cfg.sink.queue_days, cfg.sink.flush_days) == (1, 1)
    src = CountingSource(source_for(cfg))
    store = FlakyStore(cfg.store.path)
    store.gate = anyio.Event()
    result: list[Any] = []

    async def go() -> None:
        result.append(await run(cfg, store, src))

    async with anyio.create_task_group() as tg:
        tg.start_soon(go)
        with anyio.fail_after(30):
            await store.write_started.wait()
            # wait until both download slots hold a fetched day they cannot hand over
            while src.fetches < 4 or src.active:
                await anyio.sleep(0.01)
        # 1 day in the blocked flush + 1 in the queue + 2 waiting to send: nothing more
        assert src.fetches == 4
        store.gate.set()
    assert result[0].downloaded == 10 and src.fetches == 10


async def test_store_down_then_back_loses_nothing(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path))
    store = FlakyStore(cfg.store.path, down_for=3)
    summary = await run(cfg, store, source_for(cfg))
    assert (summary.downloaded, summary.failed) == (6, 0)
    assert summary.rows == expected_rows(cfg)
    assert store.write_calls >= 4


async def test_transient_source_errors_are_retried(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path))
    summary = await run(cfg, DuckDBStore(cfg.store.path), source_for(cfg, timeout_rate=1.0))
    assert (summary.downloaded, summary.failed, summary.rows) == (6, 0, expected_rows(cfg))


async def test_a_permanent_source_error_is_a_dead_letter_and_others_go_on(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path))
    bad = ("KQ.m@CFFEX.IF", date(2025, 11, 4))
    src = CountingSource(source_for(cfg), fail={bad: PermanentError("unknown symbol")})
    store = DuckDBStore(cfg.store.path)
    summary = await run(cfg, store, src)
    assert (summary.downloaded, summary.failed) == (5, 1)
    await store.open()
    (dead,) = await store.failed_days()
    await store.close()
    assert (dead.symbol, dead.trading_day, dead.permanent, dead.attempts) == (*bad, True, 1)
    assert "unknown symbol" in dead.reason
    again = await run(cfg, store, source_for(cfg))  # fixed upstream: the rerun takes it
    assert (again.planned, again.downloaded) == (1, 1)
    await store.open()
    assert await store.failed_days() == []
    await store.close()


async def test_a_day_the_store_refuses_fails_alone(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path))
    store = FlakyStore(cfg.store.path, refuse={date(2025, 11, 4)})
    summary = await run(cfg, store, source_for(cfg))
    assert (summary.downloaded, summary.failed) == (4, 2)
    await store.open()
    failed = await store.failed_days()
    await store.close()
    assert {f.trading_day for f in failed} == {date(2025, 11, 4)}
    assert all("refuses this value" in f.reason for f in failed)


async def test_stop_drains_in_flight_days_and_a_rerun_completes(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path, concurrency=1, end="2025-11-07"))
    stop = anyio.Event()

    class StopAfterFirst(Observer):
        def day_fetched(self, symbol: str, trading_day: date, rows: int, seconds: float) -> None:
            stop.set()

    store = DuckDBStore(cfg.store.path)
    first = await run(cfg, store, source_for(cfg), stop=stop, observer=StopAfterFirst())
    assert first.interrupted and 1 <= first.downloaded < 10
    second = await run(cfg, store, source_for(cfg))
    assert first.downloaded + second.downloaded == 10
    assert first.rows + second.rows == expected_rows(cfg)


async def test_a_fatal_source_error_stops_the_run(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path))
    src = CountingSource(
        source_for(cfg), fail={("KQ.m@SHFE.cu", date(2025, 11, 3)): FatalError("bad password")}
    )
    with pytest.raises(BaseException) as info:
        await run(cfg, DuckDBStore(cfg.store.path), src)
    assert (
        info.group_contains(FatalError)
        if isinstance(info.value, BaseExceptionGroup)
        else isinstance(info.value, FatalError)
    )


async def test_fingerprints_in_checkpoints_match_the_stored_ticks(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path))
    store = DuckDBStore(cfg.store.path)
    await run(cfg, store, source_for(cfg))
    await store.open()
    cps = await store.checkpoints(cfg.ingest.symbols, date(2025, 11, 3), date(2025, 11, 5))
    assert len(cps) == 2 * 3  # every symbol-day stored: the loop below is not vacuous
    for (symbol, day), cp in cps.items():
        ticks = await store.read_day(symbol, day)
        assert len(ticks) == cp.rows > 0
        assert fingerprint(ticks) == cp.fingerprint
    await store.close()


async def test_a_fatal_store_error_stops_the_run_instead_of_failing_every_day(
    tmp_path: Path,
) -> None:
    cfg = config_obj(small_config(tmp_path))
    store = FlakyStore(cfg.store.path, fatal=True)
    with pytest.raises(BaseException) as info:
        await run(cfg, store, source_for(cfg))
    assert (
        info.group_contains(FatalError)
        if isinstance(info.value, BaseExceptionGroup)
        else isinstance(info.value, FatalError)
    )
    await store.open()
    assert await store.failed_days() == []  # no day was blamed for the store's refusal
    runs = await store._run(lambda con: con.execute("SELECT status FROM ingest_runs").fetchall())
    assert runs == [("failed",)]  # the run's row is closed, not left "running"
    await store.close()


async def test_a_dead_letter_survives_a_store_hiccup(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path))
    bad = ("KQ.m@CFFEX.IF", date(2025, 11, 4))
    src = CountingSource(source_for(cfg), fail={bad: PermanentError("unknown symbol")})
    store = FlakyStore(cfg.store.path, record_down_for=2)
    summary = await run(cfg, store, src)
    assert (summary.downloaded, summary.failed) == (5, 1)
    await store.open()
    assert [(f.symbol, f.trading_day) for f in await store.failed_days()] == [bad]
    await store.close()


async def test_a_day_that_keeps_timing_out_is_retried_then_recorded_as_retryable(
    tmp_path: Path,
) -> None:
    cfg = config_obj(small_config(tmp_path))
    bad = ("KQ.m@SHFE.cu", date(2025, 11, 5))
    src = CountingSource(source_for(cfg), fail={bad: RetryableError("time-out")})
    store = DuckDBStore(cfg.store.path)
    summary = await run(cfg, store, src)
    assert (summary.downloaded, summary.failed) == (5, 1)
    await store.open()
    (dead,) = await store.failed_days()
    await store.close()
    assert (dead.permanent, dead.attempts) == (False, cfg.download.retry_attempts)
    assert src.fetches == 5 + cfg.download.retry_attempts
