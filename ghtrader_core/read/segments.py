"""Roll segments: the number that changes exactly when the main contract does.

A researcher must never let a window cross a roll; grouping by ``segment`` guarantees
it. Segments are counted over the symbol's whole history (the stored schedule merged
with the contract of every stored day), not over the range asked for, so a day keeps its
segment number whichever range it is read in. The contract stored with a day's ticks
wins over the schedule where they disagree: the segment must describe the data returned.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ghtrader_core.schedule import MainSchedule


@dataclass(frozen=True)
class Segments:
    """Segment number per trading day: 0 for the first contract known, +1 at each roll."""

    schedule: MainSchedule

    @classmethod
    def build(
        cls,
        symbol: str,
        schedule: Iterable[tuple[date, str]],
        stored: Iterable[tuple[date, str]],
    ) -> Segments:
        merged = dict(schedule)
        merged.update(stored)
        return cls(MainSchedule.from_days(symbol, merged.items()))

    def of(self, trading_day: date) -> int:
        """The segment of ``trading_day`` (-1 before the first known day)."""
        firsts = [s.first_day for s in self.schedule.segments]
        return bisect.bisect_right(firsts, trading_day) - 1

    def roll_days(self) -> list[date]:
        """The first day of every segment after the first."""
        return [s.first_day for s in self.schedule.rolls()]
