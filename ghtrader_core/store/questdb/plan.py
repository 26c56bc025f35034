"""The planner's query on QuestDB: checkpointed (symbol, day number) pairs in one query.

Only the two columns the plan needs, the day already a number (days since 1970-01-01),
poured straight into two int32 arrays: no ``Checkpoint``, ``date`` or tuple per day. (A
``string_agg`` of the days per symbol was tried first: QuestDB caps its result at 1 MiB,
which 150,000 days exceed.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import numpy as np

from ghtrader_core.store.base import DayPairs
from ghtrader_core.store.questdb.pg import PgClient
from ghtrader_core.store.questdb.sql import Sql

CHECKPOINTED_DAYS = Sql(
    "checkpointed_days",
    "SELECT symbol, cast(trading_day AS LONG) / 86400000000 FROM checkpoints "
    "WHERE trading_day >= $1 AND trading_day <= $2",
    (datetime(2025, 11, 3), datetime(2025, 11, 5)),
)


def _ts(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


async def checkpointed_days(
    pg: PgClient, symbols: Sequence[str], start: date, end: date
) -> DayPairs:
    rows = await pg.fetch(CHECKPOINTED_DAYS, _ts(start), _ts(end))
    index = {s: i for i, s in enumerate(symbols)}
    symbol = np.fromiter((index.get(str(r[0]), -1) for r in rows), np.int32, len(rows))
    day = np.fromiter((r[1] for r in rows), np.int32, len(rows))
    keep = symbol >= 0  # symbols not asked for: QuestDB's PGWire takes no array for IN
    return DayPairs(symbol[keep], day[keep])
