"""What the pipeline tells the outside: one observer interface, many listeners.

The pipeline calls these hooks; the progress bar, the structured log, the Prometheus
metrics and the run summary each implement the ones they need. Hooks are called on the
event loop and must not block.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from ghtrader_core.records import DayValidation, RunCounts


@dataclass(frozen=True)
class StoredDay:
    """A symbol-day that is durable and checkpointed, as observers are told of it."""

    symbol: str
    trading_day: date
    rows: int
    nbytes: int = 0
    validation: DayValidation | None = None


class Observer:
    """No-op base: listeners override what they care about."""

    def planned(self, total: int, skipped: int) -> None: ...

    def day_fetched(self, symbol: str, trading_day: date, rows: int, seconds: float) -> None: ...

    def day_validated(self, symbol: str, trading_day: date, seconds: float) -> None: ...

    def day_failed(self, symbol: str, trading_day: date, reason: str, permanent: bool) -> None: ...

    def batch_flushed(self, days: int, rows: int, seconds: float) -> None: ...

    def day_done(self, day: StoredDay) -> None:
        """A day is durable and checkpointed: its rows, bytes and validation verdict."""

    def queue_depth(self, days: int) -> None: ...


@dataclass
class Observers(Observer):
    """Fans every hook out to a list of observers."""

    members: list[Observer] = field(default_factory=list)

    def planned(self, total: int, skipped: int) -> None:
        for m in self.members:
            m.planned(total, skipped)

    def day_fetched(self, symbol: str, trading_day: date, rows: int, seconds: float) -> None:
        for m in self.members:
            m.day_fetched(symbol, trading_day, rows, seconds)

    def day_validated(self, symbol: str, trading_day: date, seconds: float) -> None:
        for m in self.members:
            m.day_validated(symbol, trading_day, seconds)

    def day_failed(self, symbol: str, trading_day: date, reason: str, permanent: bool) -> None:
        for m in self.members:
            m.day_failed(symbol, trading_day, reason, permanent)

    def batch_flushed(self, days: int, rows: int, seconds: float) -> None:
        for m in self.members:
            m.batch_flushed(days, rows, seconds)

    def day_done(self, day: StoredDay) -> None:
        for m in self.members:
            m.day_done(day)

    def queue_depth(self, days: int) -> None:
        for m in self.members:
            m.queue_depth(days)


@dataclass
class RunStats(Observer):
    """Counters of one run as the days come in: the run record and the summary take
    ``counts`` as they are; the busy times are the summary's alone."""

    counts: RunCounts = field(default_factory=RunCounts)
    sink_busy_s: float = 0.0
    validate_s: float = 0.0
    failures: list[tuple[str, date, str]] = field(default_factory=list)

    def planned(self, total: int, skipped: int) -> None:
        self.counts = replace(self.counts, planned=total - skipped, skipped=skipped)

    def day_failed(self, symbol: str, trading_day: date, reason: str, permanent: bool) -> None:
        self.counts = self.counts.plus(failed=1)
        self.failures.append((symbol, trading_day, reason))

    def day_validated(self, symbol: str, trading_day: date, seconds: float) -> None:
        self.validate_s += seconds

    def batch_flushed(self, days: int, rows: int, seconds: float) -> None:
        self.sink_busy_s += seconds

    def day_done(self, day: StoredDay) -> None:
        self.counts = self.counts.plus(downloaded=1, rows=day.rows)
