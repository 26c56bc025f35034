"""The real source: TqSdk Pro's ``get_tick_data_series``, one trading day per call.

Where the work runs. TqSdk runs a private event loop, refuses a running one, and a ``TqApi``
is not thread-safe, so the source never calls it on the daemon's threads: it hands each job
to a runner that owns the ``TqApi`` sessions, at most ``max_apis`` of them (accounts have
connection limits). The daemon's runner is ``ProcessRunner`` (``workers.py``: worker
processes, which scale with cores and can be killed at a deadline); ``ThreadRunner``
(``threads.py``) keeps them on threads of this process, for fakes that cannot cross a
process boundary. ``fetch_day``, called from the daemon's worker threads, blocks until the
runner answers or the deadline passes.

Days. ``start_dt = end_dt = trading_day``: a ``date`` means a trading day to TqSdk, so this
is exactly one trading day, night session included (``day + 1`` would fetch two). A
``KQ.m@EX.var`` is resolved to the contract of that day from the main-contract schedule
(``query_his_cont_quotes``) that the daemon keeps in the store and hands over with
``use_schedule``; downloading the contract is what gives SHFE its five book levels.

Cache. TqSdk keeps every download under ``tqsdk.data_series.CACHE_DIR`` forever; the source
points it at ``cache_dir`` (inside the daemon's state directory) and deletes a contract's
files once a day of it is durable in the store (``day_durable``), before the next job of
the session that holds them, or at close.

Time-outs. TqSdk waits 60 s at login and 30 s per data wait, hard-coded. The ``TqApi`` is
given an event loop (its public ``loop`` argument) that shortens exactly those waits to
``wait_timeout_s``; nothing else in TqSdk's timing changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ghtrader_core.calendar import SYSTEM_CLOCK, Clock, TradingCalendar, beijing_today
from ghtrader_core.errors import PermanentError, RetryableError
from ghtrader_core.sources.tqsdk.api import (
    ApiFactory,
    Credentials,
    Job,
    RealApiFactory,
    ScheduleJob,
    TicksJob,
    TqApiLike,
    TqSdkSettings,
    deadline_loop,
    discard_loop,
    forget_cont_table,
    import_tqsdk,
    real_api_factory,
    tq_tick_columns,
)
from ghtrader_core.sources.tqsdk.cache import prune_cache
from ghtrader_core.sources.tqsdk.threads import ApiPool, ThreadRunner
from ghtrader_core.sources.tqsdk.workers import ProcessRunner
from ghtrader_core.symbols import MainSymbol
from ghtrader_core.ticks import DayFrame, TickSchemaError, normalize


class Runner(Protocol):
    """Where ``TqApi`` jobs run: worker processes or threads."""

    @property
    def live(self) -> int: ...

    @property
    def created(self) -> int: ...

    def run(self, job: Job, timeout_s: float) -> Any: ...

    def prune(self, contract: str) -> None: ...

    def close(self, timeout_s: float) -> None: ...


def make_runner(factory: ApiFactory, settings: TqSdkSettings, user: str) -> Runner:
    """Worker processes when asked for and the factory can be sent to one, else threads."""
    if settings.processes and isinstance(factory, RealApiFactory):
        return ProcessRunner(
            factory,
            settings.max_apis,
            recycle_after_days=settings.recycle_after_days,
            recycle_rss_mb=settings.recycle_rss_mb,
            close_timeout_s=settings.close_timeout_s,
            transfer=settings.transfer,
            user=user,
        )
    return ThreadRunner(
        factory, settings.max_apis, settings.recycle_after_days, settings.cache_dir, user
    )


class TqSdkSource:
    name = "tqsdk"

    def __init__(
        self,
        calendar: TradingCalendar,
        settings: TqSdkSettings,
        api_factory: ApiFactory,
        *,
        user: str = "",
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.calendar = calendar
        self.settings = settings
        self._user = user
        self._clock = clock
        self.runner = make_runner(api_factory, settings, user)
        self._lock = threading.Lock()
        self._schedules: dict[str, dict[date, str]] = {}

    @property
    def live_apis(self) -> int:
        return self.runner.live

    @property
    def apis_created(self) -> int:
        return self.runner.created

    # -- main-contract schedule (NeedsSchedule) -------------------------------------------
    def use_schedule(self, symbol: str, day_contracts: Sequence[tuple[date, str]]) -> None:
        with self._lock:
            known = self._schedules.setdefault(symbol, {})
            known.update((d, c) for d, c in day_contracts if c)

    def fetch_schedule(
        self, symbols: Sequence[str], start: date
    ) -> dict[str, list[tuple[date, str]]]:
        """The underlying of each ``KQ.m@…`` for every trading day since ``start`` through
        the clock's date in Beijing (blocking)."""
        n = len(self.calendar.trading_days(start, beijing_today(self._clock))) + 10
        frame = self.runner.run(ScheduleJob(tuple(symbols), n), self.settings.day_timeout_s)
        out: dict[str, list[tuple[date, str]]] = {}
        for symbol in symbols:
            if symbol not in frame.columns:
                raise PermanentError(f"TqSdk returned no main-contract schedule for {symbol}")
            out[symbol] = list(schedule_rows(frame, symbol))
        return out

    def contract_for(self, symbol: MainSymbol, trading_day: date) -> str:
        with self._lock:
            contract = self._schedules.get(str(symbol), {}).get(trading_day)
        if contract is None:
            raise PermanentError(
                f"no main contract known for {symbol} on {trading_day}: the schedule from "
                "TqSdk (query_his_cont_quotes) has no entry for that day (before listing, "
                "or a symbol TqSdk's main-contract table does not know)"
            )
        return contract

    # -- TickSource ------------------------------------------------------------------------
    def fetch_day(self, symbol: MainSymbol, trading_day: date) -> DayFrame:
        contract = self.contract_for(symbol, trading_day)
        frame = self.fetch_contract_day(contract, trading_day)
        return self.to_day_frame(frame, symbol, contract, trading_day)

    def fetch_contract_day(self, contract: str, trading_day: date) -> pd.DataFrame:
        """TqSdk's frame for one contract-day, exactly as TqSdk returns it (blocking)."""
        frame: pd.DataFrame = self.runner.run(
            TicksJob(contract, trading_day), self.settings.day_timeout_s
        )
        return frame

    def to_day_frame(
        self, frame: pd.DataFrame, symbol: MainSymbol, contract: str, trading_day: date
    ) -> DayFrame:
        notes: list[str] = []
        if len(frame) == 0:
            notes.append(f"TqSdk returned no ticks for {contract} on {trading_day}")
        elif len(frame):
            ns = frame["datetime"].to_numpy(dtype="int64")
            own = self.calendar.trading_days_of(ns) == np.datetime64(trading_day, "D")
            if not own.all():
                notes.append(f"{int((~own).sum())} ticks of other trading days dropped")
                frame = frame.loc[own].reset_index(drop=True)
        try:
            ticks, norm_notes = normalize(
                frame, symbol=str(symbol), contract=contract, trading_day=trading_day
            )
        except TickSchemaError as exc:
            raise RetryableError(f"TqSdk frame for {contract} {trading_day}: {exc}") from None
        return DayFrame(str(symbol), trading_day, contract, ticks, (*notes, *norm_notes))

    # -- cache (KeepsCache) ----------------------------------------------------------------
    def day_durable(self, symbol: str, trading_day: date) -> None:
        with self._lock:
            contract = self._schedules.get(symbol, {}).get(trading_day)
        if contract is not None:
            self.runner.prune(contract)

    def close(self) -> None:
        self.runner.close(self.settings.close_timeout_s)


def schedule_rows(frame: pd.DataFrame, symbol: str) -> Iterable[tuple[date, str]]:
    """(day, contract) pairs of one column of a ``query_his_cont_quotes`` frame."""
    for d, c in zip(frame["date"], frame[symbol], strict=True):
        if isinstance(c, str) and c:
            yield pd.Timestamp(d).date(), str(c)


__all__ = [
    "ApiPool",
    "Credentials",
    "ProcessRunner",
    "RealApiFactory",
    "ThreadRunner",
    "TqApiLike",
    "TqSdkSettings",
    "TqSdkSource",
    "deadline_loop",
    "discard_loop",
    "forget_cont_table",
    "import_tqsdk",
    "prune_cache",
    "real_api_factory",
    "tq_tick_columns",
]
