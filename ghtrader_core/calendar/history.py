"""The session-hour history of the exchanges as data: one ``Regime`` per row of
``session_history.csv`` (shipped inside the package), each with its source and confidence.

Sessions changed over the years (night sessions introduced product by product, night
closes moved, CFFEX day hours changed, one-off late opens, early closes and suspensions),
so the sessions of a trading day are a function of the variety *and* the date. The rows
are facts with provenance, not code: a new notice is a new row. The calendar
(``ghtrader_core.calendar.sessions``) decides which rows apply to a day.

Columns: ``exchange`` and ``varieties`` (``;``-separated, ``*`` = every variety of those
exchanges), ``session`` (``night`` or ``day``), ``kind``, the first and last trading day
(blank = open-ended), ``start``/``end`` (HH:MM Beijing; a night end before noon is the next
morning), ``segments`` (day sessions, ``name=HH:MM-HH:MM`` separated by spaces),
``auction`` (start of the opening call auction), ``confidence``, ``source``, ``notes``.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from importlib import resources

from ghtrader_core.symbols import Exchange, Variety

HISTORY_FILE = "session_history.csv"
KINDS = ("introduced", "hours", "day-only", "one-off", "suspended", "auction", "rule")
AUCTION_LEAD_S = 300  # a night session opens with a 5-minute call auction (20:55-21:00)


class HistoryError(ValueError):
    """A malformed row of the session history (names the row and the column)."""


class Confidence(StrEnum):
    """How well a row is sourced. Only ``two-sources`` and ``config`` rows may fail a day
    by their session boundaries; see ``Regime.firm``."""

    TWO_SOURCES = "two-sources"
    ONE_SOURCE = "one-source"
    INFERRED = "inferred"
    CONFIG = "config"  # asserted by the operator in [[calendar.*]]


_RANK = {
    Confidence.INFERRED: 0,
    Confidence.ONE_SOURCE: 1,
    Confidence.TWO_SOURCES: 2,
    Confidence.CONFIG: 3,
}


def weakest(confidences: Iterable[Confidence]) -> Confidence:
    return min(confidences, key=_RANK.__getitem__, default=Confidence.TWO_SOURCES)


@dataclass(frozen=True)
class Regime:
    """One row: which varieties, which trading days, which hours, and on what authority."""

    exchanges: frozenset[Exchange]
    varieties: frozenset[str]  # codes; empty = every variety of ``exchanges``
    session: str  # "night" | "day"
    kind: str
    first: date
    last: date
    start_s: int | None = None  # seconds after midnight of the session's calendar day
    end_s: int | None = None  # night: past 24 h when the close is after midnight
    segments: tuple[tuple[str, int, int], ...] = ()
    auction_s: int | None = None
    confidence: Confidence = Confidence.TWO_SOURCES
    source: str = ""
    notes: str = ""
    ref: str = ""  # where the row lives: "session_history.csv:12" or "config"

    @property
    def firm(self) -> bool:
        """Whether this row may, by itself, fail a day (see the README)."""
        return self.confidence in (Confidence.TWO_SOURCES, Confidence.CONFIG)

    def covers(self, variety: Variety) -> bool:
        if variety.exchange not in self.exchanges:
            return False
        return not self.varieties or variety.code in self.varieties

    def in_force(self, day: date) -> bool:
        return self.first <= day <= self.last

    def describe(self) -> str:
        """One line: what the row says, for ``ghtraderd sessions`` and finding messages."""
        who = ";".join(sorted(e.value for e in self.exchanges))
        what = ";".join(sorted(self.varieties)) or "*"
        first = "" if self.first == date.min else self.first.isoformat()
        last = "" if self.last == date.max else self.last.isoformat()
        span = f"{first}..{last}" if first or last else "always"
        hours = ""
        if self.segments:
            hours = " " + " ".join(f"{n}={clock(a)}-{clock(b)}" for n, a, b in self.segments)
        elif self.start_s is not None or self.end_s is not None:
            start = clock(self.start_s) if self.start_s is not None else "(unchanged)"
            end = clock(self.end_s) if self.end_s is not None else "(unchanged)"
            hours = f" {start}-{end}"
        return f"{who} {what} {self.session} {self.kind} {span}{hours} [{self.confidence}]"


def clock(seconds: int) -> str:
    seconds %= 86400
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def parse_clock(text: str, *, night_end: bool = False) -> int:
    """``HH:MM`` as seconds after midnight; a night close before noon is the next morning."""
    hh, sep, mm = text.strip().partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
        raise ValueError(f"expected HH:MM, got {text!r}")
    seconds = int(hh) * 3600 + int(mm) * 60
    return seconds + 86400 if night_end and seconds < 12 * 3600 else seconds


def _segments(text: str) -> tuple[tuple[str, int, int], ...]:
    out = []
    for part in text.split():
        name, sep, span = part.partition("=")
        start, dash, end = span.partition("-")
        if not (sep and dash and name):
            raise ValueError(f"expected name=HH:MM-HH:MM, got {part!r}")
        out.append((name, parse_clock(start), parse_clock(end)))
    return tuple(out)


def _complete(
    session: str,
    kind: str,
    start: int | None,
    end: int | None,
    segments: tuple[tuple[str, int, int], ...],
) -> None:
    """A row that sets hours must give them all: a night regime its start and end, a day
    regime (or a day one-off) its segments, a night one-off a start or an end."""
    if session == "night" and kind in ("introduced", "hours") and (start is None or end is None):
        raise ValueError(f"a night {kind} row needs start and end")
    if session == "night" and kind == "one-off" and start is None and end is None:
        raise ValueError("a night one-off row needs start or end")
    if session == "day" and kind in ("hours", "one-off") and not segments:
        raise ValueError(f"a day {kind} row needs segments (column segments)")


def regime_from_row(row: Mapping[str, str], ref: str) -> Regime:
    """One row (the CSV's columns, as strings) as a ``Regime``; ``HistoryError`` if bad."""
    col = ""
    try:
        col = "exchange"
        exchanges = frozenset(Exchange(e.strip()) for e in row["exchange"].split(";"))
        col = "varieties"
        codes = [c.strip() for c in row["varieties"].split(";") if c.strip()]
        varieties = frozenset() if codes == ["*"] else frozenset(codes)
        col = "session"
        session = row["session"].strip()
        if session not in ("night", "day"):
            raise ValueError(f"expected night or day, got {session!r}")
        col = "kind"
        kind = row["kind"].strip()
        if kind not in KINDS:
            raise ValueError(f"expected one of {', '.join(KINDS)}, got {kind!r}")
        col = "first_trading_day"
        first = date.fromisoformat(row["first_trading_day"]) if row["first_trading_day"] else None
        col = "last_trading_day"
        last = date.fromisoformat(row["last_trading_day"]) if row["last_trading_day"] else None
        col = "start"
        start = parse_clock(row["start"]) if row.get("start") else None
        col = "end"
        night = session == "night"
        end = parse_clock(row["end"], night_end=night) if row.get("end") else None
        col = "segments"
        segments = _segments(row.get("segments") or "")
        col = "auction"
        auction = parse_clock(row["auction"]) if row.get("auction") else None
        col = "confidence"
        confidence = Confidence(row["confidence"].strip())
        col = "start"
        _complete(session, kind, start, end, segments)
    except (ValueError, KeyError) as exc:
        raise HistoryError(f"{ref}: column {col}: {exc}") from None
    return Regime(
        exchanges=exchanges,
        varieties=varieties,
        session=session,
        kind=kind,
        first=first or date.min,
        last=last or date.max,
        start_s=start,
        end_s=end,
        segments=segments,
        auction_s=auction,
        confidence=confidence,
        source=row.get("source", ""),
        notes=row.get("notes", ""),
        ref=ref,
    )


def parse_history(text: str, name: str = HISTORY_FILE) -> tuple[Regime, ...]:
    """All rows of a history file; lines starting with ``#`` are comments."""
    lines = text.splitlines(keepends=True)
    reader = csv.DictReader(line for line in lines if not line.startswith("#"))
    comments = sum(1 for line in lines if line.startswith("#"))
    return tuple(regime_from_row(row, f"{name}:{comments + i + 2}") for i, row in enumerate(reader))


@functools.cache
def shipped_history() -> tuple[Regime, ...]:
    """The history that ships with the package (``ghtrader_core/calendar``)."""
    text = resources.files(__package__).joinpath(HISTORY_FILE).read_text(encoding="utf-8")
    return parse_history(text)
