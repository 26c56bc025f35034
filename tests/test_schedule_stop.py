"""A forced stop does not wait for a blocked main-contract schedule fetch.

The schedule is fetched in a worker thread before any day starts (and before the drain
watcher exists). A source whose ``fetch_schedule`` blocks stands in for an unreachable
vendor table: a stop must end the backfill at once while the call is still blocked. A
drain (the first signal) has no day to wait for yet: the interrupted result (exit 130).
A forced stop (the second signal, or the drain deadline) cancels the backfill.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import anyio

from daemon.commands.backfill import Burst
from daemon.pipeline import Summary, backfill
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.sources.hooks import NeedsSchedule
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.symbols import MainSymbol
from ghtrader_core.ticks import DayFrame
from tests.pipeline_helpers import config_obj, small_config, synthetic


class BlockedSchedule:
    """The synthetic source with a schedule fetch that blocks until released."""

    name = "synthetic"

    def __init__(self, calendar: TradingCalendar) -> None:
        self.inner = synthetic(calendar, seed=11)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.returned = threading.Event()

    def use_schedule(self, symbol: str, day_contracts: Sequence[tuple[date, str]]) -> None:
        pass

    def fetch_schedule(
        self, symbols: Sequence[str], start: date
    ) -> dict[str, list[tuple[date, str]]]:
        self.entered.set()
        self.release.wait(timeout=60)  # a bound against a hang when the stop does not work
        self.returned.set()
        return {}

    def fetch_day(self, symbol: MainSymbol, trading_day: date) -> DayFrame:
        return self.inner.fetch_day(symbol, trading_day)

    def close(self) -> None:
        self.inner.close()


async def test_a_drain_abandons_a_blocked_schedule_fetch(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path, symbols=("KQ.m@SHFE.cu",)))
    calendar = TradingCalendar()
    source = BlockedSchedule(calendar)
    store = DuckDBStore(cfg.store.path)
    await store.open()
    burst = Burst()
    summary: Summary | None = None

    async def go() -> None:
        nonlocal summary
        summary = await backfill(cfg, store, source, calendar, stop=burst.stop)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(go)
            await anyio.to_thread.run_sync(source.entered.wait)
            burst.begin_drain()
        assert summary is not None and summary.interrupted  # `backfill` exits 130 on this
        assert summary.planned == 3 and summary.downloaded == 0
        assert not source.returned.is_set()  # ... while the fetch is still blocked
        assert await store.checkpoints(["KQ.m@SHFE.cu"], cfg.ingest.start, cfg.ingest.start) == {}
    finally:
        source.release.set()
        await store.close()


async def test_a_forced_stop_abandons_a_blocked_schedule_fetch(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path, symbols=("KQ.m@SHFE.cu",)))
    calendar = TradingCalendar()
    source = BlockedSchedule(calendar)
    assert isinstance(source, NeedsSchedule)
    store = DuckDBStore(cfg.store.path)
    await store.open()
    burst = Burst()
    summary: Summary | None = None
    ended = False

    async def go() -> None:
        nonlocal summary, ended
        with burst.scope:
            summary = await backfill(cfg, store, source, calendar, stop=burst.stop)
        ended = True

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(go)
            await anyio.to_thread.run_sync(source.entered.wait)
            burst.begin_drain()  # the first signal: nothing has started, nothing to drain
            burst.force_exit()  # the second (or the drain deadline)
        assert ended and summary is None  # stopped at once: `backfill` exits 130 on this
        assert not source.returned.is_set()  # ... while the fetch is still blocked
        assert await store.checkpoints(["KQ.m@SHFE.cu"], cfg.ingest.start, cfg.ingest.start) == {}
    finally:
        source.release.set()
        await store.close()
