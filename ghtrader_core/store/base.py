"""The protocol every store satisfies, by role, and what the pipeline hands to it.

``Store`` is five small protocols, one per role: its lifecycle, ingest (days,
checkpoints, dead letters, runs), the main-contract schedule, validation (what is due,
verdicts written back) and reporting (coverage, reports). A caller that needs one role
types against that role (``revalidate`` against ``ValidationStore``, ``report`` against
``ReportingStore``); a store implements them all. How records become rows is
``rows``, shared by every store.

All methods are coroutines: a store with a blocking client runs it in a worker thread of
its own, a store with an async client awaits it. ``write_days`` is idempotent per
symbol-day and returns only when what it wrote is durable and visible; the pipeline writes
checkpoints strictly afterwards, so a crash in between costs a re-write, never a loss.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from ghtrader_core.records import (
    Checkpoint,
    CoverageRow,
    DayValidation,
    FailedDay,
    IngestRun,
    ManifestEntry,
)
from ghtrader_core.ticks import DayFrame


@dataclass(frozen=True)
class DayWrite:
    """One symbol-day ready for the store: its ticks and, when validated, the verdict."""

    day: DayFrame
    fingerprint: str
    validation: DayValidation | None = None

    @property
    def key(self) -> tuple[str, date]:
        return (self.day.symbol, self.day.trading_day)


@dataclass(frozen=True)
class ValidationWrite:
    """A re-validated stored day: replaces its validation rows and updates its checkpoint.

    ``fingerprint`` is that of the data validated (the checkpoint's when it was read); it is
    stored with the summary, so a later write of other data makes the day due again.
    """

    symbol: str
    trading_day: date
    fingerprint: str
    validation: DayValidation


@dataclass(frozen=True)
class DayPairs:
    """Checkpointed (symbol, day) pairs as two parallel int32 arrays, for planning without
    one Python object per day: ``symbol`` indexes the symbols asked for, ``day`` counts
    days since 1970-01-01."""

    symbol: np.ndarray
    day: np.ndarray

    def __len__(self) -> int:
        return len(self.day)


@dataclass(frozen=True)
class ValidationRow:
    """One checkpointed symbol-day and what validation said of it, for reports."""

    symbol: str
    trading_day: date
    rows: int
    status: str  # DayStatus value, or "unvalidated"
    score: float | None
    validator_version: int
    errors: int  # findings of severity error
    warnings: int
    checks: str  # names of the error and warning checks, comma-separated
    largest_gap_s: float | None  # of the gaps kept (longer than the gap threshold)


@dataclass(frozen=True)
class GapRow:
    symbol: str
    trading_day: date
    session: str
    start_ns: int
    end_ns: int
    length_s: float


@runtime_checkable
class StoreLifecycle(Protocol):
    name: str

    async def open(self) -> None:
        """Connect and create or migrate the schema. Raises StoreUnavailableError."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StoreUnavailableError unless the store answers now."""
        ...


@runtime_checkable
class IngestStore(Protocol):
    """What the pipeline writes and plans from: days, checkpoints, dead letters, runs."""

    async def write_days(self, days: Sequence[DayWrite]) -> None:
        """Write ticks and validation of whole days; idempotent; durable on return."""
        ...

    async def write_checkpoints(
        self, checkpoints: Sequence[Checkpoint], manifest: Sequence[ManifestEntry]
    ) -> None:
        """Mark days done (and clear them from the dead letters); record the manifest."""
        ...

    async def checkpoints(
        self, symbols: Sequence[str], start: date, end: date
    ) -> dict[tuple[str, date], Checkpoint]:
        """All checkpoints of ``symbols`` in ``start``..``end``, in one query."""
        ...

    async def checkpointed_days(
        self, symbols: Sequence[str], start: date, end: date
    ) -> DayPairs:
        """Which days of ``symbols`` in ``start``..``end`` have a checkpoint: one query,
        answered as compact arrays (the planner's input)."""
        ...

    async def record_failed(self, failed: Sequence[FailedDay]) -> None: ...

    async def record_run(self, run: IngestRun) -> None:
        """Insert or update an ingest run (keyed by ``run_id``)."""
        ...


@runtime_checkable
class ScheduleStore(Protocol):
    """The main-contract schedule, fetched once per symbol and kept."""

    async def write_schedule(self, symbol: str, day_contracts: Sequence[tuple[date, str]]) -> None:
        """Upsert the main-contract schedule of ``symbol``: one row per trading day
        (table ``main_schedule``: symbol, trading_day, contract, fetched_at)."""
        ...

    async def read_schedule(self, symbol: str) -> list[tuple[date, str]]:
        """The stored (trading_day, contract) rows of ``symbol``, ordered by day."""
        ...


@runtime_checkable
class ValidationStore(Protocol):
    """Re-validation: which days are due, their ticks read back, verdicts written."""

    async def read_day(self, symbol: str, trading_day: date) -> pd.DataFrame:
        """The stored ticks of one symbol-day in the tick schema, ordered by time."""
        ...

    async def validation_due(
        self,
        symbols: Sequence[str],
        start: date,
        end: date,
        validator_version: int,
        *,
        full: bool = False,
    ) -> list[Checkpoint]:
        """Checkpoints of the days to re-validate, in one query over checkpoints and the
        validation summary, never over ticks: no summary, a summary made on other data
        (its fingerprint differs from the checkpoint's) or by a validator older than
        ``validator_version``; every checkpointed day in range with ``full``."""
        ...

    async def write_validations(self, results: Sequence[ValidationWrite]) -> None:
        """Replace the validation rows (summary with fingerprint, findings, gaps) of these
        days and set their checkpoints' validator_version and status, where the checkpoint
        still has the fingerprint validated; one transaction; durable on return."""
        ...


@runtime_checkable
class ReportingStore(Protocol):
    """What the reports read: coverage, dead letters, validation per day, gaps."""

    async def coverage(self) -> list[CoverageRow]:
        """Per symbol: first/last day, days present, rows, and the days themselves."""
        ...

    async def failed_days(self) -> list[FailedDay]: ...

    async def validation_rows(
        self, symbols: Sequence[str], start: date, end: date
    ) -> list[ValidationRow]:
        """Every checkpointed day of ``symbols`` in range with its validation summary,
        ordered by symbol and day ("unvalidated" where there is none)."""
        ...

    async def largest_gaps(
        self, symbols: Sequence[str], start: date, end: date, limit: int
    ) -> list[GapRow]:
        """Per symbol, the ``limit`` longest stored gaps in range, longest first."""
        ...


@runtime_checkable
class Store(
    StoreLifecycle, IngestStore, ScheduleStore, ValidationStore, ReportingStore, Protocol
):
    """A whole store: every role. What the factory builds and the daemon opens."""


def methods(protocol: type) -> tuple[str, ...]:
    """The public methods a store protocol declares, its roles' included (a composed
    protocol such as ``Store`` declares none in its own body)."""
    names: dict[str, None] = {}
    for role in protocol.__mro__:
        if role.__module__ == __name__:
            names.update(
                (n, None) for n, m in vars(role).items() if inspect.isfunction(m) and n[0] != "_"
            )
    return tuple(names)
