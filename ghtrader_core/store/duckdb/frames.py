"""Records to DuckDB rows: Arrow tables of ticks and frames of validation verdicts.

Kept apart from the store so the SQL there reads as SQL. Which field lands in which
column is ``ghtrader_core.store.rows`` (shared with QuestDB); this module only builds
the frames DuckDB scans.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ghtrader_core.store.base import DayWrite, ValidationWrite
from ghtrader_core.store.rows import (
    FINDING_COLUMNS,
    GAP_COLUMNS,
    SUMMARY_COLUMNS,
    finding_rows,
    gap_rows,
    summary_row,
    verdicts,
)
from ghtrader_core.ticks import SOURCE_COLUMNS


def insert_validations(
    con: duckdb.DuckDBPyConnection,
    summary: pd.DataFrame | None,
    findings: pd.DataFrame | None,
    gaps: pd.DataFrame | None,
) -> None:
    """Insert validation frames (inside the caller's transaction)."""
    for table, frame in (
        ("validation_summary", summary),
        ("validation_findings", findings),
        ("validation_gaps", gaps),
    ):
        if frame is not None and len(frame):
            con.register("incoming", frame)
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM incoming")
            con.unregister("incoming")


def arrow_day(write: DayWrite) -> pa.Table:
    """A day's ticks as Arrow: numeric columns without a copy, and symbol, contract and
    trading_day built as constants instead of converting one Python object per row."""
    day = write.day
    n = day.rows
    table = pa.Table.from_pandas(day.ticks[SOURCE_COLUMNS], preserve_index=False)
    zeros = pa.array(np.zeros(n, dtype=np.int32))
    epoch_day = (day.trading_day - date(1970, 1, 1)).days
    return (
        table.append_column("symbol", pa.DictionaryArray.from_arrays(zeros, [day.symbol]))
        .append_column("contract", pa.DictionaryArray.from_arrays(zeros, [day.contract]))
        .append_column(
            "trading_day", pa.array(np.full(n, epoch_day, dtype=np.int32)).cast(pa.date32())
        )
    )


def validation_frames(
    days: Sequence[DayWrite],
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    return verdict_frames(verdicts(days))


def verdict_frames(
    validated: Sequence[ValidationWrite],
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    """Summary, findings and gaps of validated days as frames of the shared columns."""
    if not validated:
        return None, None, None
    return (
        pd.DataFrame([summary_row(w) for w in validated], columns=list(SUMMARY_COLUMNS)),
        pd.DataFrame(
            [r for w in validated for r in finding_rows(w)], columns=list(FINDING_COLUMNS)
        ),
        pd.DataFrame([r for w in validated for r in gap_rows(w)], columns=list(GAP_COLUMNS)),
    )
