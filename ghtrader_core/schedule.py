"""Main-contract schedule: which contract stands behind a main-continuous series each day.

A ``MainSchedule`` is a list of segments (first trading day, contract); a roll is the first
day of a new segment. The real schedule comes from TqSdk (``query_his_cont_quotes``) and is
kept in the store; ``rule_schedule`` derives a deterministic one from the listed months,
for the synthetic exchange and for tests.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ghtrader_core.symbols import Contract, MainSymbol


class ScheduleError(LookupError):
    """No contract is known for a requested day."""


@dataclass(frozen=True)
class Segment:
    first_day: date
    contract: str


@dataclass(frozen=True)
class MainSchedule:
    symbol: str
    segments: tuple[Segment, ...]

    def __post_init__(self) -> None:
        days = [s.first_day for s in self.segments]
        if days != sorted(days) or len(set(days)) != len(days):
            raise ValueError(f"schedule of {self.symbol}: segments must be strictly ascending")

    def underlying(self, trading_day: date) -> str:
        days = [s.first_day for s in self.segments]
        i = bisect.bisect_right(days, trading_day) - 1
        if i < 0:
            raise ScheduleError(f"{self.symbol}: no main contract known on {trading_day}")
        return self.segments[i].contract

    def rolls(self) -> list[Segment]:
        """Segments after the first: each one's ``first_day`` is a roll day."""
        return list(self.segments[1:])

    def fingerprint(self) -> str:
        text = ";".join(f"{s.first_day}={s.contract}" for s in self.segments)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def from_days(cls, symbol: str, day_contracts: Iterable[tuple[date, str]]) -> MainSchedule:
        """Compress (day, contract) pairs, as TqSdk returns them, into segments."""
        segments: list[Segment] = []
        for day, contract in sorted(day_contracts):
            if contract and (not segments or segments[-1].contract != contract):
                segments.append(Segment(day, contract))
        return cls(symbol, tuple(segments))


def rule_contract(symbol: MainSymbol, trading_day: date, *, roll_day_of_month: int = 15) -> str:
    """The rule-based main contract: the first listed month at least two months ahead,
    counted from the roll day (after the 15th the series looks one month further)."""
    months = symbol.variety.months
    shift = 2 + (1 if trading_day.day >= roll_day_of_month else 0)
    index = trading_day.year * 12 + trading_day.month - 1 + shift
    while (index % 12) + 1 not in months:
        index += 1
    return str(Contract(symbol.variety, index // 12, index % 12 + 1))


def rule_schedule(symbol: MainSymbol, days: Iterable[date]) -> MainSchedule:
    return MainSchedule.from_days(str(symbol), ((d, rule_contract(symbol, d)) for d in days))
