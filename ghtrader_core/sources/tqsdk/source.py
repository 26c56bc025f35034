"""The real source: TqSdk Pro's ``get_tick_data_series``, one trading day per call.

Threads. TqSdk runs a private event loop, refuses a running one, and a ``TqApi`` is not
thread-safe and must be closed on the thread that made it. So the source owns a small
pool of its own threads (``max_apis`` of them, the cap on live ``TqApi`` instances, since
accounts have connection limits); each thread creates its ``TqApi`` lazily, reuses it day
after day, drops it after an error or after ``recycle_after_days`` days (TqSdk keeps every
downloaded tick in memory), and closes it itself on shutdown. ``fetch_day``, called from
the daemon's worker threads, hands the job to the pool and waits with a deadline.

One contract is never downloaded by two threads at once (TqSdk's cache takes a blocking
file lock per symbol): a lock per contract is taken before the job is queued and released
when the job ends, even if the caller gave up waiting.

Days. ``start_dt = end_dt = trading_day``: a ``date`` means a trading day to TqSdk, so this
is exactly one trading day, night session included (``day + 1`` would fetch two). A
``KQ.m@EX.var`` is resolved to the contract of that day from the main-contract schedule
(``query_his_cont_quotes``) that the daemon keeps in the store and hands over with
``use_schedule``; downloading the contract is what gives SHFE its five book levels.

Cache. TqSdk keeps every download under ``tqsdk.data_series.CACHE_DIR`` forever; the
source points it at ``cache_dir`` (inside the daemon's state directory) and deletes a
contract's files once a day of it is durable in the store (``day_durable``), on the next
fetch or at close.

Time-outs. TqSdk waits 60 s at login and 30 s per data wait, hard-coded. The ``TqApi`` is
given an event loop (its public ``loop`` argument) that shortens exactly those waits to
``wait_timeout_s``; nothing else in TqSdk's timing changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.errors import PermanentError, RetryableError
from ghtrader_core.sources.tqsdk.errors import classify
from ghtrader_core.symbols import MainSymbol
from ghtrader_core.ticks import DayFrame, TickSchemaError, normalize

log = logging.getLogger("ghtraderd.tqsdk")
T = TypeVar("T")

# The columns TqSdk 3.10.4 documents for ``get_tick_data_series`` (data_series.py): the
# book has five levels for SHFE (and SSE/SZSE) contracts, one elsewhere.
TQ_BASE_COLUMNS = (
    "id",
    "datetime",
    "last_price",
    "highest",
    "lowest",
    "average",
    "volume",
    "amount",
    "open_interest",
)
TQ_TRAILING_COLUMNS = ("symbol", "duration")
FIVE_LEVEL_EXCHANGES = frozenset({"SHFE", "SSE", "SZSE"})


def tq_tick_columns(contract: str) -> list[str]:
    """The exact columns, in order, TqSdk returns for ``contract``'s ticks."""
    levels = 5 if contract.split(".", 1)[0] in FIVE_LEVEL_EXCHANGES else 1
    book = [
        f"{name}{i}"
        for i in range(1, levels + 1)
        for name in ("bid_price", "bid_volume", "ask_price", "ask_volume")
    ]
    return [*TQ_BASE_COLUMNS, *book, *TQ_TRAILING_COLUMNS]


class TqApiLike(Protocol):
    """The part of ``tqsdk.TqApi`` the source uses (the test fake mirrors these)."""

    def get_tick_data_series(
        self, symbol: Any, start_dt: Any, end_dt: Any, adj_type: str | None = None
    ) -> pd.DataFrame: ...

    def query_his_cont_quotes(self, symbol: Any, n: int = 200) -> pd.DataFrame: ...

    def close(self) -> None: ...


ApiFactory = Callable[[], TqApiLike]


@dataclass(frozen=True)
class Credentials:
    """A TqSdk (快期) account; the password never shows in a repr or a log line."""

    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class TqSdkSettings:
    max_apis: int = 2  # live TqApi instances at most (= the source's threads)
    recycle_after_days: int = 20  # a fresh TqApi after this many days (memory)
    wait_timeout_s: float = 30.0  # TqSdk's login and per-wait time-outs, shortened to this
    day_timeout_s: float = 900.0  # the whole of one fetch, queueing included
    cache_dir: Path = Path("var/tqsdk-cache")
    close_timeout_s: float = 10.0


# -- the real TqApi -----------------------------------------------------------------------
_WAIT_TIMEOUT_CALLBACK = "_set_wait_timeout"  # TqBaseApi._run_until_task_done's deadline


def deadline_loop(wait_timeout_s: float) -> asyncio.AbstractEventLoop:
    """A selector loop that caps TqSdk's wait deadlines (and only those) at ``wait_timeout_s``."""

    class _DeadlineLoop(asyncio.SelectorEventLoop):
        def call_later(  # type: ignore[override]
            self,
            delay: float,
            callback: Callable[..., object],
            *args: object,
            context: Any = None,
        ) -> asyncio.TimerHandle:
            if getattr(callback, "__name__", "") == _WAIT_TIMEOUT_CALLBACK:
                delay = min(delay, wait_timeout_s)
            return super().call_later(delay, callback, *args, context=context)

    return _DeadlineLoop()


def import_tqsdk() -> Any:
    """Import tqsdk on first use only: it takes seconds and prints the vendor's disclaimer
    (on stderr), neither of which a replay or synthetic run should pay for."""
    import tqsdk

    return tqsdk


def discard_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a half-built TqApi left on its loop and close it (TqApi does not when its
    login fails), so no 'Task was destroyed but it is pending' noise reaches the log."""
    try:
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.close()
    except Exception as exc:  # cleaning up must not hide the error that got us here
        log.debug("could not clean up a failed TqApi's loop: %s", exc)


def real_api_factory(credentials: Credentials, settings: TqSdkSettings) -> ApiFactory:
    """Make ``tqsdk.TqApi`` instances logged in as ``credentials`` (server URLs: TqSdk's own
    ``TQ_AUTH_URL`` / ``TQ_MD_URL`` environment variables, read by TqSdk itself)."""

    def make() -> TqApiLike:
        tqsdk = import_tqsdk()
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        data_series: Any = sys.modules["tqsdk.data_series"]
        data_series.CACHE_DIR = str(settings.cache_dir)
        loop = deadline_loop(settings.wait_timeout_s)
        try:
            api: TqApiLike = tqsdk.TqApi(
                auth=tqsdk.TqAuth(credentials.user, credentials.password),
                loop=loop,
                disable_print=True,
            )
        except BaseException:
            discard_loop(loop)
            raise
        return api

    return make


def forget_cont_table() -> None:
    """TqSdk caches the main-contract table for the life of the process; a daemon runs for
    months, so drop it before each schedule query to see new rolls."""
    calendar = sys.modules.get("tqsdk.calendar")
    if calendar is not None:
        calendar.TqContCalendar.continuous = None


# -- the pool of TqApi threads ------------------------------------------------------------
_Job = tuple[Callable[[TqApiLike], Any], "Future[Any]"]


class ApiPool:
    """``size`` threads, each owning at most one TqApi: the cap on live instances."""

    def __init__(self, factory: ApiFactory, size: int, recycle_after_days: int) -> None:
        self._factory = factory
        self._size = size
        self._recycle = recycle_after_days
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._live = 0
        self._closed = False
        self.created = 0  # TqApi instances made so far (for status and tests)

    @property
    def live(self) -> int:
        with self._lock:
            return self._live

    def submit(self, fn: Callable[[TqApiLike], T]) -> Future[T]:
        fut: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RetryableError("the TqSdk source is closed")
            if not self._threads:
                for i in range(self._size):
                    t = threading.Thread(target=self._work, name=f"tqsdk-{i}", daemon=True)
                    t.start()
                    self._threads.append(t)
        self._jobs.put((fn, fut))
        return fut

    def _work(self) -> None:
        api: TqApiLike | None = None
        days = 0
        while True:
            job = self._jobs.get()
            if job is None:
                break
            fn, fut = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                if api is None:
                    api = self._factory()
                    with self._lock:
                        self._live += 1
                        self.created += 1
                    days = 0
                result = fn(api)
            except BaseException as exc:  # a failed TqApi is not trusted again
                self._drop(api)
                api = None
                fut.set_exception(exc)
                continue
            days += 1
            if days >= self._recycle:
                self._drop(api)
                api = None
            fut.set_result(result)
        self._drop(api)

    def _drop(self, api: TqApiLike | None) -> None:
        if api is None:
            return
        try:
            api.close()
        except Exception as exc:  # closing a broken connection may fail; it is gone anyway
            log.warning("TqApi close failed: %s: %s", type(exc).__name__, exc)
        with self._lock:
            self._live -= 1

    def close(self, timeout_s: float) -> None:
        """Each thread closes its own TqApi; a thread stuck in TqSdk is left (daemon)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout_s
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))


# -- the source ---------------------------------------------------------------------------
class TqSdkSource:
    name = "tqsdk"

    def __init__(
        self,
        calendar: TradingCalendar,
        settings: TqSdkSettings,
        api_factory: ApiFactory,
        *,
        user: str = "",
        today: Callable[[], date] = date.today,
    ) -> None:
        self.calendar = calendar
        self.settings = settings
        self._user = user
        self._today = today
        self._pool = ApiPool(api_factory, settings.max_apis, settings.recycle_after_days)
        self._lock = threading.Lock()
        self._schedules: dict[str, dict[date, str]] = {}
        self._contract_locks: dict[str, threading.Lock] = {}
        self._to_prune: set[str] = set()

    @property
    def live_apis(self) -> int:
        return self._pool.live

    @property
    def apis_created(self) -> int:
        return self._pool.created

    # -- main-contract schedule (NeedsSchedule) -------------------------------------------
    def use_schedule(self, symbol: str, day_contracts: Sequence[tuple[date, str]]) -> None:
        with self._lock:
            known = self._schedules.setdefault(symbol, {})
            known.update((d, c) for d, c in day_contracts if c)

    def fetch_schedule(
        self, symbols: Sequence[str], start: date
    ) -> dict[str, list[tuple[date, str]]]:
        """The underlying of each ``KQ.m@…`` for every trading day since ``start`` (blocking)."""
        n = len(self.calendar.trading_days(start, self._today())) + 10

        def job(api: TqApiLike) -> pd.DataFrame:
            forget_cont_table()
            return api.query_his_cont_quotes(symbol=list(symbols), n=n)

        frame = self._run(job, what=f"main-contract schedule of {', '.join(symbols)}")
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
                "TqSdk (query_his_cont_quotes) has no entry for that day (before listing?)"
            )
        return contract

    # -- TickSource ------------------------------------------------------------------------
    def fetch_day(self, symbol: MainSymbol, trading_day: date) -> DayFrame:
        contract = self.contract_for(symbol, trading_day)
        frame = self.fetch_contract_day(contract, trading_day)
        return self.to_day_frame(frame, symbol, contract, trading_day)

    def fetch_contract_day(self, contract: str, trading_day: date) -> pd.DataFrame:
        """TqSdk's frame for one contract-day, exactly as TqSdk returns it (blocking)."""

        def job(api: TqApiLike) -> pd.DataFrame:
            return api.get_tick_data_series(
                symbol=contract, start_dt=trading_day, end_dt=trading_day
            )

        lock = self._contract_lock(contract)
        if not lock.acquire(timeout=self.settings.day_timeout_s):
            raise RetryableError(f"{contract} stayed busy in another download")
        try:
            self._prune(holding=contract)
            fut = self._pool.submit(job)
        except BaseException:
            lock.release()
            raise
        fut.add_done_callback(lambda _f: lock.release())
        return self._wait(fut, what=f"{contract} {trading_day}")

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

    def _run(self, fn: Callable[[TqApiLike], T], *, what: str) -> T:
        return self._wait(self._pool.submit(fn), what=what)

    def _wait(self, fut: Future[T], *, what: str) -> T:
        try:
            return fut.result(timeout=self.settings.day_timeout_s)
        except FutureTimeout:
            fut.cancel()
            raise RetryableError(
                f"TqSdk did not finish {what} within {self.settings.day_timeout_s:g} s"
            ) from None
        except Exception as exc:
            raise classify(exc, user=self._user) from exc

    def _contract_lock(self, contract: str) -> threading.Lock:
        with self._lock:
            return self._contract_locks.setdefault(contract, threading.Lock())

    # -- cache (KeepsCache) ----------------------------------------------------------------
    def day_durable(self, symbol: str, trading_day: date) -> None:
        with self._lock:
            contract = self._schedules.get(symbol, {}).get(trading_day)
            if contract is not None:
                self._to_prune.add(contract)

    def _prune(self, holding: str | None = None) -> None:
        with self._lock:
            pending = list(self._to_prune)
        for contract in pending:
            lock = None if contract == holding else self._contract_lock(contract)
            if lock is not None and not lock.acquire(blocking=False):
                continue  # being downloaded now: prune next time
            try:
                removed = prune_cache(self.settings.cache_dir, contract)
                with self._lock:
                    self._to_prune.discard(contract)
                if removed:
                    log.debug("pruned %d TqSdk cache files of %s", removed, contract)
            finally:
                if lock is not None:
                    lock.release()

    def close(self) -> None:
        self._pool.close(self.settings.close_timeout_s)
        self._prune()


def prune_cache(cache_dir: Path, contract: str) -> int:
    """Delete TqSdk's tick cache files of ``contract`` (``{contract}.0.*`` and its lock)."""
    if not cache_dir.is_dir():
        return 0
    removed = 0
    for pattern in (f"{contract}.0.*", f".{contract}.0.lock"):
        for path in cache_dir.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed


def schedule_rows(frame: pd.DataFrame, symbol: str) -> Iterable[tuple[date, str]]:
    """(day, contract) pairs of one column of a ``query_his_cont_quotes`` frame."""
    for d, c in zip(frame["date"], frame[symbol], strict=True):
        if isinstance(c, str) and c:
            yield pd.Timestamp(d).date(), str(c)


__all__ = [
    "ApiPool",
    "Credentials",
    "TqApiLike",
    "TqSdkSettings",
    "TqSdkSource",
    "deadline_loop",
    "prune_cache",
    "real_api_factory",
    "tq_tick_columns",
]
