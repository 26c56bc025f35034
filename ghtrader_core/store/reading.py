"""What a store answers for the read API (``ghtrader_core.read``): a few plain frames.

The read API is the same on every store; what differs is the SQL. So each store package
holds one ``read`` module implementing ``StoreReader`` and the store hands it out from
``reader()``. The frames are deliberately raw (one row per stored day, ticks of a day
range, bars as the store aggregated them): status filtering, roll segments and the
volume of a bar are computed once, in the core, on top of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, runtime_checkable

import pandas as pd

# ``every`` of ``bars``: one bar per trading day, per session half (night 18:00-06:00 and
# day 06:00-18:00 Beijing time, i.e. 12-hour buckets aligned to 10:00/22:00 UTC), per minute.
BAR_EVERY = ("1d", "session", "1min")
SESSION_OFFSET_H = 10  # UTC hour at which a 12-hour "session" bucket starts (18:00 Beijing)

DAY_INDEX_COLUMNS = [
    "trading_day",  # datetime.date
    "contract",
    "rows",
    "fingerprint",
    "status",  # ok / warn / fail / unvalidated
    "score",
    "validator_version",
    "written_at",
    "source",  # of the manifest row whose fingerprint is the checkpoint's; None if unknown
    "run_id",
]
SPAN_COLUMNS = ["trading_day", "first_ns", "last_ns", "ticks"]
BAR_COLUMNS = [
    "trading_day",
    "contract",
    "start_ns",  # first instant of the bucket (1d: the day's first tick), UTC ns
    "open",
    "high",
    "low",
    "close",
    "volume_cum",  # cumulative day volume at the bar's last tick
    "amount_cum",
    "open_interest",
    "ticks",
]


@runtime_checkable
class StoreReader(Protocol):
    """The store-specific half of the read API. ``start``/``end`` are trading days,
    inclusive; frames come ordered by trading day (and time within a day)."""

    async def day_index(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """One row per checkpointed day, ``DAY_INDEX_COLUMNS``."""
        ...

    async def tick_spans(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Per stored day: first and last tick (UTC ns) and tick count, ``SPAN_COLUMNS``."""
        ...

    async def ticks(
        self, symbol: str, start: date, end: date, columns: Sequence[str]
    ) -> pd.DataFrame:
        """Ticks of the days in range ordered by (trading_day, datetime, id): at least
        ``columns`` (a subset of ``ticks.SOURCE_COLUMNS``, always with ``datetime``) and
        ``trading_day`` as ``datetime64``."""
        ...

    async def bars(self, symbol: str, start: date, end: date, every: str) -> pd.DataFrame:
        """OHLC, cumulative volume/amount, open interest and tick count per bucket of
        ``every`` within each trading day (never across two), ``BAR_COLUMNS``."""
        ...


@runtime_checkable
class ReadableStore(Protocol):
    def reader(self) -> StoreReader: ...
