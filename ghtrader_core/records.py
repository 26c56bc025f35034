"""Plain records shared by validation and the stores: what is written besides ticks.

They sit apart from ``validation`` so that a store can write them without importing the
checks that produce them (the core's imports point one way).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, field, fields, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class DayStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    """One check's verdict on one symbol-day: how often it fired, with examples."""

    check: str
    severity: Severity
    count: int
    examples_ns: tuple[int, ...] = ()
    field: str = ""
    message: str = ""


@dataclass(frozen=True)
class Gap:
    """A run without ticks inside a session."""

    session: str
    start_ns: int
    end_ns: int

    @property
    def length_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


@dataclass(frozen=True)
class DayValidation:
    """Everything validation says about one symbol-day."""

    status: DayStatus
    score: float
    validator_version: int
    metrics: dict[str, float] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    gaps: tuple[Gap, ...] = ()


@dataclass(frozen=True)
class Checkpoint:
    """A symbol-day whose ticks (and validation, when on) are durable in the store."""

    symbol: str
    trading_day: date
    contract: str
    rows: int
    fingerprint: str
    validator_version: int  # 0 when the day was not validated
    status: str  # DayStatus value, or "unvalidated"
    written_at: datetime
    source: str | None = None  # the source that filled the day (None: not recorded)


@dataclass(frozen=True)
class FailedDay:
    """A symbol-day that could not be ingested: the dead-letter record."""

    symbol: str
    trading_day: date
    reason: str
    permanent: bool
    attempts: int
    failed_at: datetime


@dataclass(frozen=True)
class RunCounts:
    """The counters of one ingest run, in one shape for everything that reports them.

    The run's summary (``backfill --json``, the ``run`` status page) extends it, the
    pipeline's observer keeps it, the ``ingest_runs`` row carries it. A new counter is a
    field here (and a column in the stores' ``ingest_runs``, which a test checks).
    """

    planned: int = 0  # days to download (not counting those skipped as already done)
    downloaded: int = 0  # days durable and checkpointed
    skipped: int = 0  # days already done
    failed: int = 0  # days dead-lettered
    rows: int = 0  # ticks of the downloaded days

    def plus(self, **more: int) -> RunCounts:
        """These counts with ``more`` added (``plus(downloaded=1, rows=n)``)."""
        return replace(self, **{k: getattr(self, k) + v for k, v in more.items()})

    def counts(self) -> RunCounts:
        """Only the counters (of a record that extends this one)."""
        return RunCounts(*self.values())

    def values(self) -> tuple[int, ...]:
        """The counters in field order (the order of their store columns)."""
        return astuple(self)[: len(fields(RunCounts))]

    def counts_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(RunCounts)}


@dataclass(frozen=True)
class IngestRun:
    """One row of ``ingest_runs``: written "running" at the start, updated at the end."""

    run_id: str
    command: str
    started_at: datetime
    ended_at: datetime | None
    counts: RunCounts
    status: str
    config_hash: str
    code_version: str


@dataclass(frozen=True)
class ManifestEntry:
    """Which run wrote which symbol-day, from what: the manifest lives in the store."""

    run_id: str
    symbol: str
    trading_day: date
    contract: str
    rows: int
    fingerprint: str
    source: str
    schema_hash: str
    code_version: str


@dataclass(frozen=True)
class CoverageRow:
    symbol: str
    first_day: date | None
    last_day: date | None
    days_present: int
    rows: int
    days: tuple[date, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "days_present": self.days_present,
            "rows": self.rows,
        }
