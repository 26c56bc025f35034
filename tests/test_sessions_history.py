"""The calendar against the session history: each two-source row on its first and last
day and on the trading days either side of it, and the five cases of issue 14.

The expected hours are read from the row itself (its start, end and segments), not from
the calendar's resolution: the test states what the row says, the calendar must agree.
"""

from __future__ import annotations

from datetime import date

import pytest

from ghtrader_core.calendar import (
    Confidence,
    Regime,
    TradingCalendar,
    local_midnight_ns,
    shipped_history,
)
from ghtrader_core.calendar.history import HistoryError, parse_history
from ghtrader_core.calendar.sessions import DAY_SESSIONS, NIGHT_SESSIONS
from ghtrader_core.symbols import VARIETIES, Variety, parse_main

CAL = TradingCalendar()
ROWS = shipped_history()
FIRM = [r for r in ROWS if r.confidence is Confidence.TWO_SOURCES]
HOUR_S = 3600


def v(name: str) -> Variety:
    return parse_main(f"KQ.m@{name}").variety


def known(row: Regime) -> list[Variety]:
    """The varieties of ``symbols.py`` a row names (wildcards: every variety it covers)."""
    return [x for x in VARIETIES.values() if row.covers(x)]


def night(var: Variety, day: date) -> tuple[int, int] | None:
    """The night of ``day`` as (start, end) seconds after its evening's midnight."""
    s = CAL.schedule(var, day)
    if not s.night_held:
        return None
    base = local_midnight_ns(s.evening)
    n = s.sessions[0]
    return (n.start_ns - base) // 10**9, (n.end_ns - base) // 10**9


def day_segments(var: Variety, day: date) -> tuple[tuple[str, int, int], ...]:
    base = local_midnight_ns(day)
    return tuple(
        (s.name, (s.start_ns - base) // 10**9, (s.end_ns - base) // 10**9)
        for s in CAL.sessions(var, day)
        if s.name != "night"
    )


def held_days(var: Variety, first: date, last: date) -> list[date]:
    """Trading days in range whose night is not removed by a holiday or a suspension."""
    return [d for d in CAL.trading_days(first, last) if CAL.has_night(var, d)]


def _cases(kind: str) -> list[tuple[Regime, Variety]]:
    rows = [r for r in FIRM if r.session == "night" and r.kind in ("introduced", "hours")]
    cases = [(r, x) for r in rows for x in known(r)]
    return [c for c in cases if (c[0].kind == "introduced") == (kind == "introduced")]


def _id(case: tuple[Regime, Variety]) -> str:
    return f"{case[0].ref}-{case[1].exchange}.{case[1].code}"


NIGHT_ROWS = _cases("introduced") + _cases("hours")


@pytest.mark.parametrize("case", NIGHT_ROWS, ids=[_id(c) for c in NIGHT_ROWS])
def test_night_rows_hold_from_first_to_last_day_and_not_beyond(
    case: tuple[Regime, Variety],
) -> None:
    row, var = case
    assert row.start_s is not None and row.end_s is not None
    hours = (row.start_s, row.end_s)
    first = row.first if row.first != date.min else date(2013, 1, 4)
    last = min(row.last, date(2025, 12, 31))
    # first and last trading day of the regime that held a night session
    in_force = held_days(var, first, last)
    assert in_force, row.describe()
    assert night(var, in_force[0]) == hours
    assert night(var, in_force[-1]) == hours
    assert all(night(var, d) == hours for d in in_force[:: max(1, len(in_force) // 25)])
    if row.first != date.min:
        assert in_force[0] == row.first, "the first day of the row holds its night"
        before = CAL.prev_trading_day(row.first)
        if row.kind == "introduced":
            assert night(var, before) is None, f"no night before {row.first}"
        else:
            assert night(var, before) != hours, f"other hours before {row.first}"
    if row.last != date.max:
        assert in_force[-1] == row.last, "the last day of the row holds its night"
        after = CAL.next_trading_day(row.last)
        assert night(var, after) != hours or night(var, after) is None


DAY_ROWS = [r for r in FIRM if r.session == "day" and r.kind in ("hours", "one-off")]


def _expected_day(var: Variety, day: date, regime: Regime) -> tuple[tuple[str, int, int], ...]:
    """What the rows say for ``day``: a one-off row of that day replaces the regime."""
    for r in ROWS:
        if r.session == "day" and r.kind == "one-off" and r.in_force(day) and r.covers(var):
            return r.segments
    return regime.segments


@pytest.mark.parametrize("row", DAY_ROWS, ids=[r.ref for r in DAY_ROWS])
def test_day_rows_give_their_segments_on_first_last_and_neighbouring_days(row: Regime) -> None:
    for var in known(row):
        first = row.first if row.first != date.min else date(2013, 1, 4)
        last = min(row.last, date(2025, 12, 31))
        days = CAL.trading_days(first, last)
        for day in (days[0], days[-1], *days[:: max(1, len(days) // 20)]):
            assert day_segments(var, day) == _expected_day(var, day, row), (var.code, day)
        outside = []
        if row.first != date.min:
            outside.append(CAL.prev_trading_day(days[0]))
        if row.last != date.max:
            outside.append(CAL.next_trading_day(days[-1]))
        for day in outside:
            if not any(_hours_row(r, var, day) for r in ROWS):
                continue  # e.g. CFFEX IM before it was listed: no history, nothing to check
            assert day_segments(var, day) != row.segments, (var.code, day)


def _hours_row(r: Regime, var: Variety, day: date) -> bool:
    return r.session == "day" and r.kind == "hours" and r.in_force(day) and r.covers(var)


def test_cffex_hours_change_on_their_days() -> None:
    idx, bond = v("CFFEX.IF"), v("CFFEX.T")
    assert day_segments(idx, date(2015, 12, 31)) == (
        ("am", 9 * HOUR_S + 900, 11 * HOUR_S + 1800),
        ("pm", 13 * HOUR_S, 15 * HOUR_S + 900),
    )
    assert day_segments(idx, date(2016, 1, 5))[0][1] == 9 * HOUR_S + 1800
    assert day_segments(idx, date(2016, 1, 7))[-1][2] == 9 * HOUR_S + 59 * 60  # circuit breaker
    assert day_segments(idx, date(2016, 1, 8))[-1][2] == 15 * HOUR_S
    assert day_segments(bond, date(2020, 7, 17))[0][1] == 9 * HOUR_S + 900
    assert day_segments(bond, date(2020, 7, 20))[0][1] == 9 * HOUR_S + 1800
    assert day_segments(bond, date(2020, 7, 20))[-1][2] == 15 * HOUR_S + 900


def test_one_off_late_open_and_suspensions_apply_per_exchange() -> None:
    for name in ("SHFE.cu", "SHFE.au", "SHFE.rb", "DCE.m", "CZCE.SR", "INE.sc"):
        late = night(v(name), date(2019, 12, 26))
        assert late is not None and late[0] == 22 * HOUR_S + 1800, name
        assert night(v(name), date(2019, 12, 25)) == (21 * HOUR_S, late[1])  # close unchanged
        assert night(v(name), date(2019, 12, 27)) == (21 * HOUR_S, late[1])
        assert CAL.schedule(v(name), date(2019, 12, 26)).sessions[0].auction_ns == (
            local_midnight_ns(date(2019, 12, 25)) + (22 * HOUR_S + 1500) * 10**9
        )
        for day in (date(2020, 2, 3), date(2020, 2, 4), date(2020, 3, 16), date(2020, 5, 6)):
            assert night(v(name), day) is None, (name, day)
        assert night(v(name), date(2020, 5, 7)) is not None
    assert night(v("DCE.m"), date(2017, 3, 31)) is None  # DCE only (m options listing)
    assert night(v("CZCE.SR"), date(2017, 3, 31)) is not None
    assert night(v("CZCE.SR"), date(2017, 4, 19)) is None


def test_the_morning_call_auction_after_a_night_starts_on_2023_05_26() -> None:
    m = v("DCE.m")
    am1 = next(s for s in CAL.sessions(m, date(2023, 5, 26)) if s.name == "am1")
    assert am1.auction_ns == local_midnight_ns(date(2023, 5, 26)) + (8 * HOUR_S + 3300) * 10**9
    before = next(s for s in CAL.sessions(m, date(2023, 5, 25)) if s.name == "am1")
    assert before.auction_ns is None  # a night was held: the day opened without an auction
    after_holiday = next(s for s in CAL.sessions(m, date(2023, 1, 30)) if s.name == "am1")
    assert after_holiday.auction_ns is not None  # no night that day: 08:55 auction
    assert CAL.sessions(v("DCE.jd"), date(2019, 6, 4))[0].auction_ns is not None


# The five examples of issue 14: (variety, trading day, night as Beijing (start, end) or None)
ISSUE_EXAMPLES = [
    ("DCE.p", date(2015, 3, 10), ("21:00", "02:30")),
    ("DCE.m", date(2014, 12, 3), None),
    ("SHFE.rb", date(2016, 3, 10), ("21:00", "01:00")),
    ("SHFE.au", date(2013, 6, 5), None),
    ("SHFE.cu", date(2019, 12, 26), ("22:30", "01:00")),
]


@pytest.mark.parametrize(("name", "day", "expected"), ISSUE_EXAMPLES)
def test_issue_14_examples(name: str, day: date, expected: tuple[str, str] | None) -> None:
    got = night(v(name), day)
    if expected is None:
        assert got is None
        assert [s.name for s in CAL.sessions(v(name), day)] == ["am1", "am2", "pm"]
        return
    assert got is not None
    clock = tuple(f"{s // 3600 % 24:02d}:{s % 3600 // 60:02d}" for s in got)
    assert clock == expected
    evening = CAL.prev_trading_day(day)
    assert CAL.sessions(v(name), day)[0].start_ns >= local_midnight_ns(evening)


def test_today_the_history_agrees_with_the_hours_of_symbols_py() -> None:
    day = date(2025, 11, 4)
    for var in VARIETIES.values():
        schedule = CAL.schedule(var, day)
        assert all(r.ref != "builtin" for r in (*schedule.night, *schedule.day)), var
        assert day_segments(var, day) == DAY_SESSIONS[var.day], var
        expected = NIGHT_SESSIONS[var.night] if var.night else None
        assert night(var, day) == expected, var


def test_every_row_has_a_source_and_a_known_confidence() -> None:
    assert len(ROWS) >= 56
    for r in ROWS:
        assert r.source.strip(), r.ref
        assert r.confidence in (Confidence.TWO_SOURCES, Confidence.ONE_SOURCE, Confidence.INFERRED)


def test_low_confidence_rows_make_their_half_of_the_day_soft() -> None:
    eb = CAL.schedule(v("DCE.eb"), date(2019, 10, 9))  # first night of eb is inferred
    assert eb.night_held and not eb.night_firm and eb.day_firm
    (span,) = eb.soft_spans()
    assert span == (eb.window[0], eb.sessions[1].start_ns)
    m = CAL.schedule(v("DCE.m"), date(2019, 10, 9))
    assert m.soft_spans() == []


def test_a_malformed_row_is_named_with_its_line_and_column() -> None:
    header = "exchange,varieties,session,kind,first_trading_day,last_trading_day,start,end,"
    header += "segments,auction,confidence,source,notes\n"
    bad = header + "DCE,m,night,hours,2015-05-11,,21:00,25:30,,,two-sources,x,\n"
    with pytest.raises(HistoryError, match=r"t.csv:2: column end"):
        parse_history(bad, "t.csv")
    ok = header + "DCE,m,night,hours,2015-05-11,,21:00,23:30,,,one-source,x,\n"
    assert parse_history(ok, "t.csv")[0].end_s == 23 * HOUR_S + 1800


def test_the_history_ships_as_package_data() -> None:
    from importlib import resources

    assert resources.files("ghtrader_core.calendar").joinpath("session_history.csv").is_file()
