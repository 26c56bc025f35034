"""The planner's query on DuckDB: checkpointed (symbol, day) pairs as two int32 arrays.

``fetchnumpy`` hands the columns over as arrays, so 150,000 checkpointed days cost two
arrays, not 150,000 tuples of Python objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import numpy as np

from ghtrader_core.store.base import DayPairs

CHECKPOINTED_DAYS = (
    "SELECT CAST(list_position($symbols, symbol) - 1 AS INTEGER) AS s, "
    "CAST(trading_day - DATE '1970-01-01' AS INTEGER) AS d "
    "FROM checkpoints "
    "WHERE symbol IN (SELECT unnest($symbols)) AND trading_day BETWEEN $start AND $end"
)


def checkpointed_days(
    con: duckdb.DuckDBPyConnection, symbols: Sequence[str], start: date, end: date
) -> DayPairs:
    cols = con.execute(
        CHECKPOINTED_DAYS, {"symbols": list(symbols), "start": start, "end": end}
    ).fetchnumpy()
    return DayPairs(
        symbol=np.asarray(cols["s"], dtype=np.int32), day=np.asarray(cols["d"], dtype=np.int32)
    )
