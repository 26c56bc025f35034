"""Records to rows and back, once for every store: which field lands in which column.

Both stores keep the same bookkeeping tables under the same column names; they are
QuestDB's (``row_count``, ``check_name``, ``hits``: ``rows``, ``check`` and ``count`` are
SQL words, and a QuestDB column cannot be renamed cheaply, so DuckDB follows). This
module is the only place that maps a record to its row and a fetched row to its record,
so a new field is added here once and both stores write it. A store keeps its SQL and its
transport: its statements list the columns in the order of the ``*_COLUMNS`` tuples here,
and it says how it writes a trading day (``day``: DuckDB a ``DATE``, QuestDB the naive
UTC midnight ``TIMESTAMP``). Rows fetched back are normalised here too (QuestDB answers a
trading day as a timestamp, a counter of an old row may be NULL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from ghtrader_core.records import (
    Checkpoint,
    CoverageRow,
    FailedDay,
    IngestRun,
    ManifestEntry,
    RunCounts,
)
from ghtrader_core.store.base import DayWrite, GapRow, ValidationRow, ValidationWrite

Day = Callable[[date], Any]  # how a store writes a trading day

CHECKPOINT_COLUMNS = (
    "symbol",
    "trading_day",
    "contract",
    "row_count",
    "fingerprint",
    "validator_version",
    "status",
    "written_at",
    "source",
)
MANIFEST_COLUMNS = (
    "run_id",
    "symbol",
    "trading_day",
    "contract",
    "row_count",
    "fingerprint",
    "source",
    "schema_hash",
    "code_version",
)
FAILED_COLUMNS = ("symbol", "trading_day", "reason", "permanent", "attempts", "failed_at")
# the counters of ``RunCounts`` in its field order, ``rows`` stored as ``row_count``
COUNT_COLUMNS = ("planned", "downloaded", "skipped", "failed", "row_count")
RUN_COLUMNS = (
    "run_id",
    "command",
    "started_at",
    "ended_at",
    *COUNT_COLUMNS,
    "status",
    "config_hash",
    "code_version",
)
SCHEDULE_COLUMNS = ("symbol", "trading_day", "contract", "fetched_at")
SUMMARY_COLUMNS = (
    "symbol",
    "trading_day",
    "status",
    "score",
    "validator_version",
    "metrics",
    "fingerprint",
)
FINDING_COLUMNS = (
    "symbol",
    "trading_day",
    "check_name",
    "severity",
    "hits",
    "field",  # NULL when the finding is about the day, not one column
    "examples_ns",
    "message",
)
GAP_COLUMNS = ("symbol", "trading_day", "session", "start_ns", "end_ns", "length_s")
# a re-validated day's checkpoint: keyed by (symbol, trading_day, fingerprint validated),
# its validator_version and status set
MARK_COLUMNS = ("symbol", "trading_day", "fingerprint", "validator_version", "status")


def same_day(day: date) -> date:
    return day


def as_day(value: Any) -> date:
    """A trading day as a store answers it (date, midnight timestamp or ISO text)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def placeholders(columns: Sequence[str], style: str = "?") -> str:
    """``?, ?, …`` (DuckDB) or ``$1, $2, …`` (``style="$"``, PGWire) for ``columns``."""
    if style == "$":
        return ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return ", ".join("?" for _ in columns)


# -- records to rows ---------------------------------------------------------------------
def checkpoint_row(c: Checkpoint, day: Day = same_day) -> tuple[Any, ...]:
    return (
        c.symbol,
        day(c.trading_day),
        c.contract,
        c.rows,
        c.fingerprint,
        c.validator_version,
        c.status,
        c.written_at,
        c.source,
    )


def manifest_row(m: ManifestEntry, day: Day = same_day) -> tuple[Any, ...]:
    return (
        m.run_id,
        m.symbol,
        day(m.trading_day),
        m.contract,
        m.rows,
        m.fingerprint,
        m.source,
        m.schema_hash,
        m.code_version,
    )


def failed_row(f: FailedDay, day: Day = same_day) -> tuple[Any, ...]:
    return (f.symbol, day(f.trading_day), f.reason, f.permanent, f.attempts, f.failed_at)


def run_row(run: IngestRun) -> tuple[Any, ...]:
    return (
        run.run_id,
        run.command,
        run.started_at,
        run.ended_at,
        *run.counts.values(),
        run.status,
        run.config_hash,
        run.code_version,
    )


def schedule_rows(
    symbol: str,
    day_contracts: Sequence[tuple[date, str]],
    fetched_at: datetime,
    day: Day = same_day,
) -> list[tuple[Any, ...]]:
    return [(symbol, day(d), contract, fetched_at) for d, contract in day_contracts]


def verdicts(days: Sequence[DayWrite]) -> list[ValidationWrite]:
    """The validated days of a batch of day writes, as the verdicts to store."""
    return [
        ValidationWrite(d.day.symbol, d.day.trading_day, d.fingerprint, d.validation)
        for d in days
        if d.validation is not None
    ]


def mark_row(w: ValidationWrite, day: Day = same_day) -> tuple[Any, ...]:
    """``MARK_COLUMNS`` of a verdict: how its checkpoint is marked validated."""
    v = w.validation
    return (w.symbol, day(w.trading_day), w.fingerprint, int(v.validator_version), str(v.status))


def summary_row(w: ValidationWrite, day: Day = same_day) -> dict[str, Any]:
    v = w.validation
    return {
        "symbol": w.symbol,
        "trading_day": day(w.trading_day),
        "status": str(v.status),
        "score": float(v.score),
        "validator_version": int(v.validator_version),
        "metrics": json.dumps(v.metrics, sort_keys=True, default=str),
        "fingerprint": w.fingerprint,
    }


def finding_rows(w: ValidationWrite, day: Day = same_day) -> list[dict[str, Any]]:
    """One row per finding, in the verdict's order (QuestDB numbers them by it)."""
    at = day(w.trading_day)
    return [
        {
            "symbol": w.symbol,
            "trading_day": at,
            "check_name": f.check,
            "severity": str(f.severity),
            "hits": int(f.count),
            "field": f.field or None,
            "examples_ns": json.dumps(list(f.examples_ns)),
            "message": f.message,
        }
        for f in w.validation.findings
    ]


def gap_rows(w: ValidationWrite, day: Day = same_day) -> list[dict[str, Any]]:
    at = day(w.trading_day)
    return [
        {
            "symbol": w.symbol,
            "trading_day": at,
            "session": g.session,
            "start_ns": int(g.start_ns),
            "end_ns": int(g.end_ns),
            "length_s": float(g.length_s),
        }
        for g in w.validation.gaps
    ]


# -- rows to records ---------------------------------------------------------------------
def checkpoint_from(r: Sequence[Any]) -> Checkpoint:
    """A row of ``CHECKPOINT_COLUMNS``; without the last (``source``) it is None."""
    source = r[8] if len(r) > 8 else None
    return Checkpoint(
        str(r[0]),
        as_day(r[1]),
        str(r[2]),
        int(r[3] or 0),
        str(r[4]),
        int(r[5] or 0),
        str(r[6]),
        r[7],
        None if source is None else str(source),
    )


def failed_from(r: Sequence[Any]) -> FailedDay:
    return FailedDay(str(r[0]), as_day(r[1]), str(r[2]), bool(r[3]), int(r[4] or 0), r[5])


def run_from(r: Sequence[Any]) -> IngestRun:
    """A row of ``RUN_COLUMNS``."""
    n = len(COUNT_COLUMNS)
    return IngestRun(
        run_id=str(r[0]),
        command=str(r[1]),
        started_at=r[2],
        ended_at=r[3],
        counts=RunCounts(*(int(v or 0) for v in r[4 : 4 + n])),
        status=str(r[4 + n]),
        config_hash=str(r[5 + n]),
        code_version=str(r[6 + n]),
    )


def coverage_from(r: Sequence[Any], days: Iterable[Any]) -> CoverageRow:
    """symbol, first day, last day, days present, rows, and the days (any order)."""
    return CoverageRow(
        str(r[0]),
        None if r[1] is None else as_day(r[1]),
        None if r[2] is None else as_day(r[2]),
        int(r[3] or 0),
        int(r[4] or 0),
        tuple(sorted(as_day(d) for d in days)),
    )


def gap_from(r: Sequence[Any]) -> GapRow:
    """A row of ``GAP_COLUMNS``."""
    return GapRow(str(r[0]), as_day(r[1]), str(r[2]), int(r[3]), int(r[4]), float(r[5]))


def validation_row_from(r: Sequence[Any]) -> ValidationRow:
    """A report row: symbol, trading_day, row_count, summary status (NULL: unvalidated),
    score, validator_version, errors, warnings, checks (comma-separated), largest gap."""
    return ValidationRow(
        symbol=str(r[0]),
        trading_day=as_day(r[1]),
        rows=int(r[2] or 0),
        status="unvalidated" if r[3] is None else str(r[3]),
        score=None if r[4] is None else float(r[4]),
        validator_version=int(r[5] or 0),
        errors=int(r[6] or 0),
        warnings=int(r[7] or 0),
        checks=str(r[8] or ""),
        largest_gap_s=None if r[9] is None else float(r[9]),
    )
