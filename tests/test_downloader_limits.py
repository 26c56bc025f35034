"""The downloader's worker threads are its own: ``download.concurrency`` above anyio's
default of 40 threads really runs that many blocking fetches at once.

The source's ``fetch_day`` waits on a barrier of 41 parties: only when 41 fetches are in
their threads at the same time does any of them return. With anyio's default limiter the
41st never starts, the barrier breaks after its (generous, never reached when it works)
timeout and every day fails.
"""

from __future__ import annotations

import threading
from datetime import date

import anyio

from daemon.downloader import Downloader
from daemon.events import Observer
from daemon.planner import Job
from daemon.retry import RetryPolicy
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.records import FailedDay
from ghtrader_core.store.base import DayWrite
from ghtrader_core.symbols import MainSymbol
from ghtrader_core.ticks import DayFrame
from tests.pipeline_helpers import D, synthetic

PAST_DEFAULT = 41  # anyio's default thread limiter holds 40


class BarrierSource:
    """The synthetic source, each fetch first waiting for ``parties`` fetches at once."""

    name = "barrier"

    def __init__(self, calendar: TradingCalendar, parties: int) -> None:
        self.inner = synthetic(calendar, seed=5)
        self.barrier = threading.Barrier(parties)
        self.most = 0
        self._now = 0
        self._lock = threading.Lock()

    def fetch_day(self, symbol: MainSymbol, trading_day: date) -> DayFrame:
        with self._lock:
            self._now += 1
            self.most = max(self.most, self._now)
        try:
            self.barrier.wait(timeout=60)  # a bound against a hang, not a timing assertion
        finally:
            with self._lock:
                self._now -= 1
        return self.inner.fetch_day(symbol, trading_day)

    def close(self) -> None:
        self.inner.close()


class FailedStore:
    """Only ``record_failed`` is reached (a day that failed); kept to say which."""

    def __init__(self) -> None:
        self.failed: list[FailedDay] = []

    async def record_failed(self, failed: list[FailedDay]) -> None:
        self.failed.extend(failed)


async def test_more_than_40_fetches_run_at_once_when_concurrency_allows() -> None:
    calendar = TradingCalendar()
    source = BarrierSource(calendar, PAST_DEFAULT)
    store = FailedStore()
    days = calendar.trading_days(D("2025-06-02"), D("2025-11-28"))[:PAST_DEFAULT]
    assert len(days) == PAST_DEFAULT
    downloader = Downloader(
        source,
        store,  # type: ignore[arg-type]
        RetryPolicy(attempts=1, base_s=0.0, max_s=0.0),
        Observer(),
        concurrency=64,
    )
    send, receive = anyio.create_memory_object_stream[DayWrite](PAST_DEFAULT)
    async with anyio.create_task_group() as tg:
        await downloader.feed([Job(d, "KQ.m@SHFE.cu") for d in days], send, tg)
    got = [w async for w in receive]
    assert store.failed == []
    assert sorted(w.day.trading_day for w in got) == days
    assert source.most == PAST_DEFAULT
