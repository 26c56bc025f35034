"""The planner's query on QuestDB: checkpointed days per symbol, one row per symbol.

The days of a symbol travel as one string of day numbers (days since 1970-01-01), parsed
with numpy, so 150,000 checkpointed days cost one row per symbol over PGWire, not one
record and two Python objects per day. Symbols not asked for are dropped on arrival (one
row each): QuestDB's PGWire takes no array parameter for an ``IN`` list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import numpy as np

from ghtrader_core.store.base import DayPairs
from ghtrader_core.store.questdb.pg import PgClient
from ghtrader_core.store.questdb.sql import Sql

MICROS_PER_DAY = 86_400_000_000

CHECKPOINTED_DAYS = Sql(
    "checkpointed_days",
    "SELECT symbol, string_agg(cast(cast(trading_day AS LONG) / 86400000000 AS STRING), ',') "
    "FROM checkpoints WHERE trading_day >= $1 AND trading_day <= $2 GROUP BY symbol",
    (datetime(2025, 11, 3), datetime(2025, 11, 5)),
)


def _ts(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


async def checkpointed_days(
    pg: PgClient, symbols: Sequence[str], start: date, end: date
) -> DayPairs:
    rows = await pg.fetch(CHECKPOINTED_DAYS, _ts(start), _ts(end))
    index = {s: i for i, s in enumerate(symbols)}
    sym_parts: list[np.ndarray] = []
    day_parts: list[np.ndarray] = []
    for symbol, days in rows:
        i = index.get(str(symbol))
        if i is None or not days:
            continue
        numbers = np.array(str(days).split(","), dtype=np.int64).astype(np.int32)
        day_parts.append(numbers)
        sym_parts.append(np.full(len(numbers), i, dtype=np.int32))
    if not day_parts:
        return DayPairs(np.zeros(0, np.int32), np.zeros(0, np.int32))
    return DayPairs(np.concatenate(sym_parts), np.concatenate(day_parts))
