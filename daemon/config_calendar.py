"""The ``[calendar]`` section's models: dated no-night periods, night closes, and rows
added to the shipped session history. Apart from ``daemon.config`` because they are the
calendar's vocabulary (exchanges, varieties, session kinds), not the daemon's knobs.

``Section`` is the base of every config section, here and in ``daemon.config``: unknown
keys are errors, values frozen.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ghtrader_core.calendar.history import HistoryError, regime_from_row
from ghtrader_core.symbols import Exchange, SymbolError, variety_of


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoNightModel(Section):
    first: date
    last: date
    exchanges: list[Exchange] = list(Exchange)


class NightHoursModel(Section):
    """A dated night close, e.g. ``{ first = 2015-01-05, last = 2019-03-28,
    exchanges = ["DCE"], end = "23:30" }``; ``varieties`` narrows it (``["DCE.m"]``)."""

    first: date
    last: date
    end: str
    exchanges: list[Exchange] = list(Exchange)
    varieties: list[str] = []

    @field_validator("end")
    @classmethod
    def _clock(cls, value: str) -> str:
        hh, sep, mm = value.partition(":")
        if not (sep and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            raise ValueError(f"expected HH:MM, got {value!r}")
        return value

    @field_validator("varieties")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for name in value:
            exchange, _, code = name.partition(".")
            try:
                variety_of(exchange, code)
            except SymbolError as exc:
                raise ValueError(f"{name!r}: {exc}") from None
        return value

    def end_s(self) -> int:
        """Seconds after the evening's midnight; a close before noon is the next morning."""
        hh, _, mm = self.end.partition(":")
        seconds = int(hh) * 3600 + int(mm) * 60
        return seconds + 86400 if seconds < 12 * 3600 else seconds


class RegimeModel(Section):
    """A session-history row from config (``[[calendar.regimes]]``), in the columns of
    ``ghtrader_core/calendar/session_history.csv``, for what the shipped history lacks,
    e.g. ``{ exchanges = ["DCE"], varieties = ["bz"], session = "night",
    kind = "introduced", first = 2025-07-08, start = "21:00", end = "23:00" }``.
    Its confidence is ``config``: it judges at full severity."""

    exchanges: list[Exchange]
    varieties: list[str] = []  # codes; empty = every variety of ``exchanges``
    session: Literal["night", "day"]
    kind: Literal["introduced", "hours", "day-only", "one-off", "suspended", "auction"]
    first: date | None = None
    last: date | None = None
    start: str = ""
    end: str = ""
    segments: str = ""  # day: "am1=09:00-10:15 am2=10:30-11:30 pm=13:30-15:00"
    auction: str = ""
    source: str = "config"
    notes: str = ""

    def row(self) -> dict[str, str]:
        return {
            "exchange": ";".join(e.value for e in self.exchanges),
            "varieties": ";".join(self.varieties) or "*",
            "session": self.session,
            "kind": self.kind,
            "first_trading_day": self.first.isoformat() if self.first else "",
            "last_trading_day": self.last.isoformat() if self.last else "",
            "start": self.start,
            "end": self.end,
            "segments": self.segments,
            "auction": self.auction,
            "confidence": "config",
            "source": self.source,
            "notes": self.notes,
        }

    @field_validator("varieties")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return [c.strip() for c in value if c.strip()]

    @model_validator(mode="after")
    def _parses(self) -> RegimeModel:
        for code in self.varieties:
            if not any(_known(e, code) for e in self.exchanges):
                where = ", ".join(e.value for e in self.exchanges)
                raise ValueError(f"unknown variety {code!r} on {where}")
        try:
            regime_from_row(self.row(), "[[calendar.regimes]]")
        except HistoryError as exc:
            raise ValueError(str(exc)) from None
        return self


def _known(exchange: Exchange, code: str) -> bool:
    try:
        variety_of(exchange.value, code)
    except SymbolError:
        return False
    return True


class CalendarConfig(Section):
    extra_holidays: list[date] = []
    no_night: list[NoNightModel] = [NoNightModel(first=date(2020, 2, 3), last=date(2020, 5, 6))]
    night_hours: list[NightHoursModel] = []
    regimes: list[RegimeModel] = []  # rows added to the shipped session history
