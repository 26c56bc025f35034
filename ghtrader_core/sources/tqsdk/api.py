"""The part of tqsdk the source touches: columns, the ``TqApi`` shape, how one is made, and the
two jobs it runs (a day's ticks, the main-contract schedule).

Jobs are plain picklable values (``TicksJob``, ``ScheduleJob``) so the same job runs on a
thread's ``TqApi`` or is sent to a worker process that owns one.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

log = logging.getLogger("ghtraderd.tqsdk")

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
    max_apis: int = 2  # live TqApi instances at most (= workers; account connection limit)
    recycle_after_days: int = 100  # a fresh TqApi (a fresh worker process) after this many days
    recycle_rss_mb: int = 1000  # ... or once a worker process holds this much memory (0: never)
    wait_timeout_s: float = 30.0  # TqSdk's login and per-wait time-outs, shortened to this
    day_timeout_s: float = 900.0  # one fetch; a worker process past it is killed
    cache_dir: Path = Path("var/tqsdk-cache")
    close_timeout_s: float = 10.0
    # Worker processes (the daemon's default, see ``workers.py``) or threads of this process
    # (the fallback, and what the unit tests' in-process fake API needs).
    processes: bool = False
    transfer: str = "pickle"  # how a worker sends a day frame back: "pickle" or "arrow"


# -- the jobs -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TicksJob:
    """One contract's ticks of one trading day (``start_dt = end_dt = day``: exactly one
    trading day, night session included)."""

    contract: str
    trading_day: date

    def run(self, api: TqApiLike) -> pd.DataFrame:
        return api.get_tick_data_series(
            symbol=self.contract, start_dt=self.trading_day, end_dt=self.trading_day
        )

    def __str__(self) -> str:
        return f"{self.contract} {self.trading_day}"


@dataclass(frozen=True)
class ScheduleJob:
    """The underlying of each ``KQ.m@…`` for the last ``n`` trading days."""

    symbols: tuple[str, ...]
    n: int

    def run(self, api: TqApiLike) -> pd.DataFrame:
        forget_cont_table()
        return api.query_his_cont_quotes(symbol=list(self.symbols), n=self.n)

    def __str__(self) -> str:
        return f"main-contract schedule of {', '.join(self.symbols)}"


Job = TicksJob | ScheduleJob


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


@dataclass(frozen=True)
class RealApiFactory:
    """Makes ``tqsdk.TqApi`` instances logged in as ``credentials`` with their disk cache in
    ``cache_dir``. A plain value, so a worker process can be handed one (server URLs: TqSdk's
    own ``TQ_AUTH_URL`` / ``TQ_MD_URL`` environment variables, read by TqSdk itself)."""

    credentials: Credentials
    wait_timeout_s: float
    cache_dir: Path

    def with_cache_dir(self, cache_dir: Path) -> RealApiFactory:
        return RealApiFactory(self.credentials, self.wait_timeout_s, cache_dir)

    def __call__(self) -> TqApiLike:
        tqsdk = import_tqsdk()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        data_series: Any = sys.modules["tqsdk.data_series"]
        data_series.CACHE_DIR = str(self.cache_dir)
        loop = deadline_loop(self.wait_timeout_s)
        try:
            api: TqApiLike = tqsdk.TqApi(
                auth=tqsdk.TqAuth(self.credentials.user, self.credentials.password),
                loop=loop,
                disable_print=True,
            )
        except BaseException:
            discard_loop(loop)
            raise
        return api


def real_api_factory(credentials: Credentials, settings: TqSdkSettings) -> RealApiFactory:
    return RealApiFactory(credentials, settings.wait_timeout_s, settings.cache_dir)


def forget_cont_table() -> None:
    """TqSdk caches the main-contract table for the life of the process; a daemon runs for
    months, so drop it before each schedule query to see new rolls."""
    calendar = sys.modules.get("tqsdk.calendar")
    if calendar is not None:
        calendar.TqContCalendar.continuous = None
