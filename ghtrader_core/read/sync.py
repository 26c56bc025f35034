"""The read API without ``await``, for notebooks and scripts.

The async API runs on an event loop of its own in a worker thread (an anyio blocking
portal), so the blocking calls work the same in a plain script and inside Jupyter, whose
own loop is already running in the main thread (``asyncio.run`` would refuse there).
Day streaming stays lazy: each step of ``iter_ticks`` reads one day.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
from anyio.from_thread import BlockingPortal, start_blocking_portal

from ghtrader_core.read.api import AsyncReader
from ghtrader_core.read.export import ExportSummary, export_dataset
from ghtrader_core.read.plan import DEFAULT_STATUSES, DayLike, DayPlan
from ghtrader_core.store.base import Store


class Reader:
    """``ticks``, ``days``, ``bars``, ``iter_ticks`` and ``excluded`` as blocking calls.

    ``Reader.open(store)`` opens the store and owns it until ``close()`` (or the end of a
    ``with`` block)."""

    def __init__(
        self, store: Store, portal: BlockingPortal, owner: AbstractContextManager[BlockingPortal]
    ) -> None:
        self.aio = AsyncReader(store)
        self._portal = portal
        self._owner = owner

    @classmethod
    def open(cls, store: Store) -> Reader:
        owner = start_blocking_portal()
        portal = owner.__enter__()
        try:
            portal.call(store.open)
            return cls(store, portal, owner)
        except BaseException as exc:
            owner.__exit__(type(exc), exc, exc.__traceback__)
            raise

    def close(self) -> None:
        try:
            self._portal.call(self.aio.store.close)
        finally:
            self._owner.__exit__(None, None, None)

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self._portal.call(partial(fn, *args, **kwargs))

    def plan(
        self,
        symbol: str,
        start: DayLike,
        end: DayLike,
        statuses: Sequence[str] | str = DEFAULT_STATUSES,
    ) -> DayPlan:
        plan: DayPlan = self._call(self.aio.plan, symbol, start, end, statuses)
        return plan

    def ticks(
        self,
        symbol: str,
        start: DayLike,
        end: DayLike,
        columns: Sequence[str] | None = None,
        statuses: Sequence[str] | str = DEFAULT_STATUSES,
    ) -> pd.DataFrame:
        frame: pd.DataFrame = self._call(self.aio.ticks, symbol, start, end, columns, statuses)
        return frame

    def iter_ticks(
        self,
        symbol: str,
        start: DayLike,
        end: DayLike,
        columns: Sequence[str] | None = None,
        statuses: Sequence[str] | str = DEFAULT_STATUSES,
    ) -> Iterator[pd.DataFrame]:
        plan = self.plan(symbol, start, end, statuses)
        for day in plan.days:
            frame: pd.DataFrame = self._call(self.aio.read_day, plan, day, columns)
            frame.attrs["excluded"] = list(plan.excluded)
            yield frame

    def excluded(
        self,
        symbol: str,
        start: DayLike,
        end: DayLike,
        statuses: Sequence[str] | str = DEFAULT_STATUSES,
    ) -> pd.DataFrame:
        frame: pd.DataFrame = self._call(self.aio.excluded, symbol, start, end, statuses)
        return frame

    def days(self, symbol: str, start: DayLike, end: DayLike) -> pd.DataFrame:
        frame: pd.DataFrame = self._call(self.aio.days, symbol, start, end)
        return frame

    def bars(
        self,
        symbol: str,
        start: DayLike,
        end: DayLike,
        every: str = "1d",
        statuses: Sequence[str] | str = DEFAULT_STATUSES,
    ) -> pd.DataFrame:
        frame: pd.DataFrame = self._call(self.aio.bars, symbol, start, end, every, statuses)
        return frame

    def export(
        self,
        out: str | Path,
        symbols: Sequence[str],
        start: DayLike,
        end: DayLike,
        *,
        fmt: str = "parquet",
        statuses: Sequence[str] = DEFAULT_STATUSES,
    ) -> ExportSummary:
        """``ghtraderd export`` from a notebook: the same dataset, manifest and increments."""
        first, last = (d if isinstance(d, date) else date.fromisoformat(d) for d in (start, end))
        summary: ExportSummary = self._call(
            export_dataset, self.aio, Path(out), symbols, first, last, fmt=fmt, statuses=statuses
        )
        return summary
