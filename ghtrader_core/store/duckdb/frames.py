"""Records to DuckDB rows: Arrow tables of ticks and frames of validation verdicts.

Kept apart from the store so the SQL there reads as SQL, and so a second store can map
the same records to the same column names.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ghtrader_core.store.base import DayWrite, ValidationWrite
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
    return verdict_frames(
        [
            ValidationWrite(d.day.symbol, d.day.trading_day, d.fingerprint, d.validation)
            for d in days
            if d.validation is not None
        ]
    )


def verdict_frames(
    validated: Sequence[ValidationWrite],
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    if not validated:
        return None, None, None
    summary = pd.DataFrame(
        [
            {
                "symbol": w.symbol,
                "trading_day": w.trading_day,
                "status": str(w.validation.status),
                "score": w.validation.score,
                "validator_version": w.validation.validator_version,
                "metrics": json.dumps(w.validation.metrics, sort_keys=True),
                "fingerprint": w.fingerprint,
            }
            for w in validated
        ]
    )
    findings = pd.DataFrame(
        [
            {
                "symbol": w.symbol,
                "trading_day": w.trading_day,
                "check": f.check,
                "severity": str(f.severity),
                "count": f.count,
                "field": f.field,
                "examples_ns": json.dumps(list(f.examples_ns)),
                "message": f.message,
            }
            for w in validated
            for f in w.validation.findings
        ]
    )
    gaps = pd.DataFrame(
        [
            {
                "symbol": w.symbol,
                "trading_day": w.trading_day,
                "session": g.session,
                "start_ns": g.start_ns,
                "end_ns": g.end_ns,
                "length_s": g.length_s,
            }
            for w in validated
            for g in w.validation.gaps
        ]
    )
    return summary, findings, gaps
