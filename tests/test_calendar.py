from datetime import UTC, date, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ghtrader_core.calendar import (
    NS_PER_S,
    NightHours,
    NoNightPeriod,
    TradingCalendar,
    local_midnight_ns,
)
from ghtrader_core.symbols import Exchange, parse_main
from tests.clock_helpers import ManualClock

CAL = TradingCalendar()
CU = parse_main("KQ.m@SHFE.cu").variety
AU = parse_main("KQ.m@SHFE.au").variety
IF = parse_main("KQ.m@CFFEX.IF").variety


def beijing_ns(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return local_midnight_ns(date(y, mo, d)) + (h * 3600 + mi * 60) * NS_PER_S


def test_trading_days_come_from_shinny_calendar_holidays() -> None:
    # National Day 2025: 2025-10-01 .. 2025-10-08 closed
    days = CAL.trading_days(date(2025, 9, 29), date(2025, 10, 10))
    assert days == [date(2025, 9, 29), date(2025, 9, 30), date(2025, 10, 9), date(2025, 10, 10)]
    assert len(CAL.trading_days(date(2025, 11, 3), date(2025, 11, 28))) == 20


def test_the_index_of_days_reaches_two_years_past_the_clocks_date() -> None:
    """The clock dates the index (Beijing's date: 20:00 UTC is the next day there); days
    past the index are answered the same, day by day."""
    cal = TradingCalendar(clock=ManualClock(datetime(2025, 11, 3, 20, 0, tzinfo=UTC)))
    assert cal.horizon == date(2027, 11, 4)
    early = TradingCalendar(clock=ManualClock(datetime(1999, 1, 1, tzinfo=UTC)))
    assert early.horizon == date(2003, 1, 1) + timedelta(days=730)  # never from before 2003
    span = (date(2025, 9, 29), date(2025, 10, 10))
    assert early.trading_days(*span) == cal.trading_days(*span) == CAL.trading_days(*span)
    assert early.next_trading_day(date(2025, 9, 30)) == date(2025, 10, 9)


def test_extra_holidays_from_config_remove_days() -> None:
    cal = TradingCalendar(extra_holidays=[date(2027, 1, 4)])
    assert not cal.is_trading_day(date(2027, 1, 4))
    assert TradingCalendar().is_trading_day(date(2027, 1, 4))


def test_monday_night_session_is_held_on_friday_evening() -> None:
    night = CAL.sessions(CU, date(2025, 11, 10))[0]  # Monday
    assert night.name == "night"
    assert night.start_ns == beijing_ns(2025, 11, 7, 21)  # Friday 21:00
    assert night.end_ns == beijing_ns(2025, 11, 8, 1)  # Saturday 01:00


def test_no_night_session_on_the_evening_before_a_holiday() -> None:
    # 2025-10-09 is the first day after National Day: the evening of 09-30 had no night
    assert not CAL.has_night(CU, date(2025, 10, 9))
    assert [s.name for s in CAL.sessions(CU, date(2025, 10, 9))] == ["am1", "am2", "pm"]
    assert CAL.has_night(CU, date(2025, 10, 10))


def test_dated_no_night_periods_apply_per_exchange() -> None:
    assert not CAL.has_night(CU, date(2020, 3, 2))  # 2020 suspension, default data
    cal = TradingCalendar(no_night=[NoNightPeriod(date(2025, 11, 3), date(2025, 11, 3))])
    assert not cal.has_night(CU, date(2025, 11, 3))
    assert cal.has_night(CU, date(2025, 11, 4))


def test_session_families() -> None:
    assert [s.name for s in CAL.sessions(IF, date(2025, 11, 3))] == ["am", "pm"]
    au_night = CAL.sessions(AU, date(2025, 11, 4))[0]
    assert au_night.end_ns == beijing_ns(2025, 11, 4, 2, 30)
    assert CAL.sessions(CU, date(2025, 11, 8)) == []  # a Saturday


def test_night_and_saturday_ticks_belong_to_the_next_trading_day() -> None:
    assert CAL.trading_day_of(beijing_ns(2025, 11, 7, 21, 5)) == date(2025, 11, 10)
    assert CAL.trading_day_of(beijing_ns(2025, 11, 8, 0, 30)) == date(2025, 11, 10)
    assert CAL.trading_day_of(beijing_ns(2025, 11, 4, 0, 30)) == date(2025, 11, 4)
    assert CAL.trading_day_of(beijing_ns(2025, 11, 4, 10, 0)) == date(2025, 11, 4)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2026, 9, 1)),
        min_size=1,
        max_size=20,
    )
)
def test_vectorised_trading_day_matches_scalar(stamps: list[datetime]) -> None:
    ns = np.array([int(s.replace(tzinfo=UTC).timestamp()) * NS_PER_S for s in stamps])
    vec = CAL.trading_days_of(ns)
    assert [v.astype(object) for v in vec] == [CAL.trading_day_of(int(x)) for x in ns]


def test_next_and_prev_trading_day_skip_weekends_and_holidays() -> None:
    assert CAL.next_trading_day(date(2025, 9, 30)) == date(2025, 10, 9)
    assert CAL.prev_trading_day(date(2025, 11, 10)) == date(2025, 11, 7)
    assert CAL.next_trading_day(date(2025, 11, 7)) - date(2025, 11, 7) == timedelta(days=3)


def test_configured_night_hours_override_the_history_for_the_days_and_varieties_they_name() -> None:
    m = parse_main("KQ.m@DCE.m").variety
    jd = parse_main("KQ.m@DCE.jd").variety  # no night session: a rule does not invent one
    # The history: DCE m closed at 23:30 from 2015-05-11 to 2019-03-29, then 23:00.
    assert CAL.sessions(m, date(2018, 6, 5))[0].end_ns == beijing_ns(2018, 6, 4, 23, 30)
    rule = NightHours(date(2018, 1, 2), date(2018, 12, 28), 23 * 3600, frozenset({Exchange.DCE}))
    cal = TradingCalendar(night_hours=[rule])
    assert cal.sessions(m, date(2018, 6, 5))[0].end_ns == beijing_ns(2018, 6, 4, 23)
    assert cal.sessions(m, date(2019, 1, 3))[0].end_ns == beijing_ns(2019, 1, 2, 23, 30)
    assert [r.ref for r in cal.schedule(m, date(2018, 6, 5)).night][-1] == "config"
    assert [s.name for s in cal.sessions(jd, date(2018, 6, 5))] == ["am1", "am2", "pm"]
    only_cu = NightHours(
        date(2018, 1, 2), date(2018, 12, 28), 26 * 3600 + 1800, varieties=frozenset({"SHFE.cu"})
    )
    cal = TradingCalendar(night_hours=[only_cu])
    assert cal.sessions(CU, date(2018, 6, 5))[0].end_ns == beijing_ns(2018, 6, 5, 2, 30)
    assert cal.sessions(AU, date(2018, 6, 5))[0].end_ns == beijing_ns(2018, 6, 5, 2, 30)
    rb = parse_main("KQ.m@SHFE.rb").variety
    assert cal.sessions(rb, date(2018, 6, 5))[0].end_ns == beijing_ns(2018, 6, 4, 23)
