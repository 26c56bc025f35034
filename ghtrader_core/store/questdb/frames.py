"""Between the store's records and QuestDB's: ILP frames out, PGWire rows back.

Kept apart from the store so that what is sent (and how a validation becomes its
generation) can be built and tested without a server, and so the writer threads can
build a batch's frames off the event loop (``day_frames`` takes the thread's scratch).
Which field lands in which column is ``ghtrader_core.store.rows`` (shared with DuckDB);
what is QuestDB's own is added here: a trading day as its midnight timestamp, the
``generation`` and ``seq`` that replace a day's findings and gaps without a DELETE.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from ghtrader_core.records import Checkpoint, DayValidation
from ghtrader_core.store.base import DayWrite, ValidationWrite
from ghtrader_core.store.questdb.ilp import TICK_SYMBOLS, IlpFrame, Scratch, ticks_frame
from ghtrader_core.store.rows import (
    as_day,
    checkpoint_from,
    finding_rows,
    gap_rows,
    summary_row,
    verdicts,
)
from ghtrader_core.ticks import FLOAT_COLUMNS, TICK_COLUMNS, empty_read_ticks


def as_ts(day: date) -> datetime:
    """A trading day as the naive UTC midnight QuestDB stores for it."""
    return datetime(day.year, day.month, day.day)


def checkpoint_row(r: Sequence[Any]) -> Checkpoint:
    """The first eight columns of a checkpoints row (see ``VALIDATION_STATE``): source
    unknown."""
    return checkpoint_from(r[:8])


def generation(validation: DayValidation) -> int:
    """A signed 64-bit hash of a day's validation: same content, same generation."""
    content = json.dumps(
        {
            "status": str(validation.status),
            "score": validation.score,
            "version": validation.validator_version,
            "metrics": validation.metrics,
            "findings": [
                [f.check, str(f.severity), f.count, list(f.examples_ns), f.field, f.message]
                for f in validation.findings
            ],
            "gaps": [[g.session, g.start_ns, g.end_ns] for g in validation.gaps],
        },
        sort_keys=True,
        default=str,
    )
    digest = hashlib.blake2b(content.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def day_frames(days: Sequence[DayWrite], scratch: Scratch | None = None) -> list[IlpFrame]:
    """Everything ``write_days`` sends for ``days``, table by table, in one buffer's order."""
    ordered = sorted(days, key=lambda d: (d.day.trading_day, d.day.symbol))
    ticks = ticks_frame([d.day.ticks for d in ordered], scratch)
    frames = [IlpFrame("ticks", ticks, TICK_SYMBOLS, "ts")]
    return frames + validation_frames(verdicts(ordered))


def validation_frames(results: Sequence[ValidationWrite]) -> list[IlpFrame]:
    """Summary, findings and gaps of validated days, keyed by the content's generation."""
    summary: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    gaps: list[dict[str, Any]] = []
    for w in sorted(results, key=lambda r: (r.trading_day, r.symbol)):
        gen = generation(w.validation)
        summary.append({**summary_row(w, as_ts), "generation": gen})
        findings.extend(
            {**row, "generation": gen, "seq": seq}
            for seq, row in enumerate(finding_rows(w, as_ts))
        )
        gaps.extend(
            {**row, "generation": gen, "seq": seq} for seq, row in enumerate(gap_rows(w, as_ts))
        )
    frames: list[IlpFrame] = []
    for table, rows, symbols in (
        ("validation_summary", summary, ("symbol", "status")),
        ("validation_findings", findings, ("symbol", "check_name", "severity", "field")),
        ("validation_gaps", gaps, ("symbol", "session")),
    ):
        if rows:
            frame = pd.DataFrame(rows)
            frame["trading_day"] = frame["trading_day"].astype("datetime64[ns]")
            for name in frame.columns:  # text with NULLs: the client needs a string dtype
                if frame[name].dtype == object:
                    frame[name] = frame[name].astype("string")
            frames.append(IlpFrame(table, frame, symbols, "trading_day"))
    return frames


def ticks_from_rows(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows of ``READ_DAY`` as a frame in the tick schema (NULL doubles back to NaN)."""
    if not rows:
        return empty_read_ticks()
    names = ["id", "datetime", *FLOAT_COLUMNS, "symbol", "contract", "trading_day"]
    columns = list(zip(*rows, strict=True))
    data: dict[str, Any] = {
        "id": np.asarray(columns[0], dtype="int64"),
        "datetime": np.asarray(columns[1], dtype="int64"),
    }
    for i, name in enumerate(FLOAT_COLUMNS, start=2):
        data[name] = np.array([np.nan if v is None else v for v in columns[i]], dtype="float64")
    n = len(FLOAT_COLUMNS) + 2
    data["symbol"] = [str(v) for v in columns[n]]
    data["contract"] = [str(v) for v in columns[n + 1]]
    data["trading_day"] = [as_day(v) for v in columns[n + 2]]
    frame = pd.DataFrame(data, columns=names)
    return frame[TICK_COLUMNS]
