"""The protocol every store satisfies, and what the pipeline hands to it.

All methods are coroutines: a store with a blocking client runs it in a worker thread of
its own, a store with an async client awaits it. ``write_days`` is idempotent per
symbol-day and returns only when what it wrote is durable and visible; the pipeline writes
checkpoints strictly afterwards, so a crash in between costs a re-write, never a loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

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

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class DayWrite:
    """One symbol-day ready for the store: its ticks and, when validated, the verdict."""

    day: DayFrame
    fingerprint: str
    validation: DayValidation | None = None

    @property
    def key(self) -> tuple[str, date]:
        return (self.day.symbol, self.day.trading_day)


@runtime_checkable
class Store(Protocol):
    name: str

    async def open(self) -> None:
        """Connect and create or migrate the schema. Raises StoreUnavailableError."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StoreUnavailableError unless the store answers now."""
        ...

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

    async def record_failed(self, failed: Sequence[FailedDay]) -> None: ...

    async def failed_days(self) -> list[FailedDay]: ...

    async def record_run(self, run: IngestRun) -> None:
        """Insert or update an ingest run (keyed by ``run_id``)."""
        ...

    async def coverage(self) -> list[CoverageRow]:
        """Per symbol: first/last day, days present, rows, and the days themselves."""
        ...

    async def read_day(self, symbol: str, trading_day: date) -> pd.DataFrame:
        """The stored ticks of one symbol-day in the tick schema, ordered by time."""
        ...
