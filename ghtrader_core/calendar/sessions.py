"""The sessions of one (variety, trading day), decided from the history rows that cover it.

A trading day owns the night session held on the evening of the previous trading day and
its own day sessions. Which night (if any) and which day hours apply is read from the
history (``history.py``) in this order:

- night: a ``day-only`` row means never a night; else the regular regime in force (the
  ``introduced``/``hours`` row naming the variety with the latest first day; none yet:
  no night before the first one); then a dated suspension, the evening-before-a-holiday
  rule, or a configured ``no_night`` period removes it; configured ``night_hours`` move its
  close; a ``one-off`` row moves its open (or close) for that one evening;
- day: the ``hours`` row in force (one naming the variety beats a ``*`` row, then the
  latest first day), replaced by a ``one-off`` row on its day (early closes);
- auctions: a night opens with a call auction 5 minutes before it; the first day session
  has one when the day had no night session, and from 2023-05-26 (an ``auction`` row) also
  after a night.

Every ``DaySchedule`` keeps the rows it was built from, so a verdict can be explained and
a boundary from a weakly sourced row is not taken as proof of a fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ghtrader_core.calendar.clock import NS_PER_S, local_midnight_ns
from ghtrader_core.calendar.history import AUCTION_LEAD_S, Confidence, Regime
from ghtrader_core.symbols import Exchange, Variety

# Today's hours by family, for a variety the history has no row for (``Variety.night`` /
# ``Variety.day`` name the family): (name, start, end) in seconds after local midnight.
DAY_SESSIONS: dict[str, tuple[tuple[str, int, int], ...]] = {
    "commodity": (
        ("am1", 9 * 3600, 10 * 3600 + 15 * 60),
        ("am2", 10 * 3600 + 30 * 60, 11 * 3600 + 30 * 60),
        ("pm", 13 * 3600 + 30 * 60, 15 * 3600),
    ),
    "index": (
        ("am", 9 * 3600 + 30 * 60, 11 * 3600 + 30 * 60),
        ("pm", 13 * 3600, 15 * 3600),
    ),
    "bond": (
        ("am", 9 * 3600 + 30 * 60, 11 * 3600 + 30 * 60),
        ("pm", 13 * 3600, 15 * 3600 + 15 * 60),
    ),
}
NIGHT_SESSIONS: dict[str, tuple[int, int]] = {
    "2300": (21 * 3600, 23 * 3600),
    "0100": (21 * 3600, 25 * 3600),
    "0230": (21 * 3600, 26 * 3600 + 30 * 60),
}
_FALLBACK_SOURCE = "ghtrader_core/symbols.py (today's hours; no history row for this variety)"
_HOLIDAY_RULE = Regime(
    frozenset(Exchange),
    frozenset(),
    "night",
    "rule",
    date.min,
    date.max,
    source="exchange rule: no night session on the evening before a holiday",
    ref="builtin",
)


@dataclass(frozen=True)
class Session:
    name: str
    start_ns: int
    end_ns: int
    auction_ns: int | None = None  # start of the call auction before the open, if any

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / NS_PER_S


@dataclass(frozen=True)
class NoNightPeriod:
    """Config: trading days ``first``..``last`` (inclusive) whose night session was not held."""

    first: date
    last: date
    exchanges: frozenset[Exchange] = frozenset(Exchange)

    def as_regime(self) -> Regime:
        return Regime(
            self.exchanges,
            frozenset(),
            "night",
            "suspended",
            self.first,
            self.last,
            confidence=Confidence.CONFIG,
            source="config [[calendar.no_night]]",
            ref="config",
        )


@dataclass(frozen=True)
class NightHours:
    """Config: trading days ``first``..``last`` whose night session closed at ``end_s``
    (seconds after midnight of the evening; past 24 h after midnight). ``varieties`` holds
    ``EX.code`` names; empty means every night variety of ``exchanges``."""

    first: date
    last: date
    end_s: int
    exchanges: frozenset[Exchange] = frozenset(Exchange)
    varieties: frozenset[str] = frozenset()

    def applies(self, variety: Variety, trading_day: date) -> bool:
        if not self.first <= trading_day <= self.last:
            return False
        if self.varieties:
            return f"{variety.exchange}.{variety.code}" in self.varieties
        return variety.exchange in self.exchanges

    def as_regime(self) -> Regime:
        return Regime(
            self.exchanges,
            frozenset(v.partition(".")[2] for v in self.varieties),
            "night",
            "hours",
            self.first,
            self.last,
            end_s=self.end_s,
            confidence=Confidence.CONFIG,
            source="config [[calendar.night_hours]]",
            ref="config",
        )


@dataclass(frozen=True)
class DaySchedule:
    """The sessions of one variety on one trading day and the rows they come from."""

    variety: Variety
    trading_day: date
    evening: date  # the calendar day the night session (if any) is held on
    sessions: tuple[Session, ...]
    night: tuple[Regime, ...]  # shaped the night; when there is none, the last one decided
    day: tuple[Regime, ...]

    @property
    def night_held(self) -> bool:
        return bool(self.sessions) and self.sessions[0].name == "night"

    @property
    def night_firm(self) -> bool:
        if self.night_held:
            return all(r.firm for r in self.night)
        return not self.night or self.night[-1].firm

    @property
    def day_firm(self) -> bool:
        return all(r.firm for r in self.day)

    @property
    def window(self) -> tuple[int, int]:
        """[start, end) in UTC ns of the instants of this trading day (18:00 to 18:00)."""
        evening_ns = 18 * 3600 * NS_PER_S
        return (
            local_midnight_ns(self.evening) + evening_ns,
            local_midnight_ns(self.trading_day) + evening_ns,
        )

    def soft_spans(self) -> list[tuple[int, int]]:
        """[start, end) spans whose session boundaries rest on a low-confidence row: the
        night half (18:00 to the morning open) and/or the day half of the window."""
        if not self.sessions:
            return []
        lo, hi = self.window
        first_day = next((s for s in self.sessions if s.name != "night"), None)
        split = hi if first_day is None else (first_day.auction_ns or first_day.start_ns)
        spans = []
        if not self.night_firm:
            spans.append((lo, split))
        if not self.day_firm:
            spans.append((split, hi))
        return spans

    def weak_rows(self) -> list[Regime]:
        """The low-confidence rows behind the soft spans, for finding messages."""
        night = self.night if self.night_held else self.night[-1:]
        return [r for r in (*night, *self.day) if not r.firm]


def _builtin(variety: Variety, session: str, kind: str, **hours: object) -> Regime:
    """A stand-in row from today's hours in symbols.py, for a variety without history."""
    return Regime(
        frozenset({variety.exchange}),
        frozenset({variety.code}),
        session,
        kind,
        date.min,
        date.max,
        confidence=Confidence.INFERRED,
        source=_FALLBACK_SOURCE,
        ref="builtin",
        **hours,  # type: ignore[arg-type]
    )


def _fallback_night(variety: Variety) -> Regime:
    if variety.night is None:
        return _builtin(variety, "night", "day-only")
    start, end = NIGHT_SESSIONS[variety.night]
    return _builtin(variety, "night", "hours", start_s=start, end_s=end)


def _latest(rows: Sequence[Regime]) -> Regime | None:
    """The row with the latest first day; on a tie the later row (config after table)."""
    best: Regime | None = None
    for r in rows:
        if best is None or (bool(r.varieties), r.first) >= (bool(best.varieties), best.first):
            best = r
    return best


def resolve_night(
    variety: Variety,
    day: date,
    *,
    after_holiday: bool,
    rows: Sequence[Regime],
    no_night: Sequence[NoNightPeriod],
    night_hours: Sequence[NightHours],
) -> tuple[tuple[int, int, int] | None, tuple[Regime, ...]]:
    """(start, end, auction) seconds after the evening's midnight, or None; and the rows."""
    night = [r for r in rows if r.session == "night"]
    day_only = [r for r in night if r.kind == "day-only"]
    if day_only:
        return None, (day_only[-1],)
    regular = [r for r in night if r.kind in ("introduced", "hours") and r.varieties]
    regime = _latest([r for r in regular if r.in_force(day)])
    if regime is None and regular:
        later = [r for r in regular if r.first > day]
        if later:  # no night before the first one
            return None, (min(later, key=lambda r: r.first),)
        return None, (max(regular, key=lambda r: r.last),)  # ended, nothing after it
    if regime is None:
        regime = _fallback_night(variety)
        if regime.kind == "day-only":
            return None, (regime,)
    for r in night:
        if r.kind == "suspended" and r.in_force(day):
            return None, (regime, r)
    if after_holiday:
        rule = next((r for r in night if r.kind == "rule"), _HOLIDAY_RULE)
        return None, (regime, rule)
    for p in no_night:
        if p.first <= day <= p.last and variety.exchange in p.exchanges:
            return None, (regime, p.as_regime())
    assert regime.start_s is not None and regime.end_s is not None, regime.ref
    start, end, auction = regime.start_s, regime.end_s, regime.auction_s
    basis = [regime]
    for h in night_hours:  # the last configured rule that applies wins
        if h.applies(variety, day):
            end = h.end_s
            basis.append(h.as_regime())
    for r in night:
        if r.kind == "one-off" and r.in_force(day):
            start = r.start_s if r.start_s is not None else start
            end = r.end_s if r.end_s is not None else end
            auction = r.auction_s
            basis.append(r)
    return (start, end, auction if auction is not None else start - AUCTION_LEAD_S), tuple(basis)


def resolve_day(
    variety: Variety, day: date, *, night_held: bool, rows: Sequence[Regime]
) -> tuple[tuple[tuple[str, int, int], ...], int | None, tuple[Regime, ...]]:
    """The day segments, the start of the opening auction (or None) and the rows."""
    hours = [r for r in rows if r.session == "day" and r.kind == "hours" and r.in_force(day)]
    regime = _latest(hours) or _builtin(variety, "day", "hours", segments=DAY_SESSIONS[variety.day])
    segments, auction = regime.segments, regime.auction_s
    basis = [regime]
    for r in rows:
        if r.session == "day" and r.kind == "one-off" and r.in_force(day):
            segments = r.segments or segments
            auction = r.auction_s if r.auction_s is not None else auction
            basis.append(r)
    if night_held:  # after a night the day opened without an auction until 2023-05-26
        auction = None
        for r in rows:
            if r.session == "day" and r.kind == "auction" and r.in_force(day):
                auction = r.auction_s if r.auction_s is not None else r.start_s
                basis.append(r)
    return segments, auction, tuple(basis)


def build_schedule(
    variety: Variety,
    day: date,
    evening: date,
    *,
    after_holiday: bool,
    rows: Sequence[Regime],
    no_night: Sequence[NoNightPeriod],
    night_hours: Sequence[NightHours],
) -> DaySchedule:
    """The ``DaySchedule`` of a trading day ``day`` whose previous trading day is ``evening``."""
    night, night_rows = resolve_night(
        variety,
        day,
        after_holiday=after_holiday,
        rows=rows,
        no_night=no_night,
        night_hours=night_hours,
    )
    segments, auction, day_rows = resolve_day(variety, day, night_held=night is not None, rows=rows)
    out: list[Session] = []
    if night is not None:
        base = local_midnight_ns(evening)
        start, end, night_auction = night
        out.append(
            Session(
                "night",
                base + start * NS_PER_S,
                base + end * NS_PER_S,
                base + night_auction * NS_PER_S,
            )
        )
    base = local_midnight_ns(day)
    for i, (name, start, end) in enumerate(segments):
        opens = base + auction * NS_PER_S if i == 0 and auction is not None else None
        out.append(Session(name, base + start * NS_PER_S, base + end * NS_PER_S, opens))
    return DaySchedule(variety, day, evening, tuple(out), night_rows, day_rows)
