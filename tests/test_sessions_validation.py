"""Validation against the session history: a synthetic day of every historical regime is
clean, a boundary from a low-confidence row never fails a day by itself, call auctions
are expected, and ten years of three varieties validate without a session finding."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ProcessPoolExecutor
from datetime import date

import numpy as np
import pandas as pd
import pytest

from ghtrader_core.calendar import (
    NS_PER_S,
    NightHours,
    NoNightPeriod,
    Regime,
    TradingCalendar,
    local_midnight_ns,
    shipped_history,
)
from ghtrader_core.records import DayStatus, DayValidation, Severity
from ghtrader_core.sources.synthetic.source import SyntheticConfig, simulate_day
from ghtrader_core.symbols import VARIETIES, MainSymbol, parse_main
from ghtrader_core.validation import Thresholds, validate_day

CAL = TradingCalendar()
CFG = SyntheticConfig(seed=14)
SESSION_CHECKS = frozenset(
    {
        "outside_session",
        "empty_session",
        "missing_day",
        "gap",
        "wrong_trading_day",
        "not_a_trading_day",
        "missing_half_seconds",
    }
)


def run_day(
    name: str, day: date, made_by: TradingCalendar = CAL, th: Thresholds | None = None
) -> DayValidation:
    """Simulate ``day`` with the sessions of ``made_by``, validate it with the shipped ones."""
    symbol = parse_main(name)
    frame, _ = simulate_day(CFG, made_by, symbol, day)
    return validate_day(
        frame.ticks, symbol=name, trading_day=day, calendar=CAL, thresholds=th or Thresholds()
    )


def session_findings(v: DayValidation) -> list[str]:
    return [f"{f.check}:{f.severity}:{f.message}" for f in v.findings if f.check in SESSION_CHECKS]


def _regime_days() -> list[tuple[str, date]]:
    """For every row with dates: one variety it covers, on the first and last trading day
    of the row (and the days either side), within 2013..2025."""
    out: set[tuple[str, date]] = set()
    for row in shipped_history():
        names = [f"KQ.m@{v.exchange}.{v.code}" for v in VARIETIES.values() if row.covers(v)]
        if not names or (row.first == date.min and row.last == date.max):
            continue
        first = max(row.first, date(2013, 1, 4))
        last = min(row.last, date(2025, 11, 28))
        days = CAL.trading_days(first, last)
        if not days:
            continue
        picks = {days[0], days[-1], CAL.prev_trading_day(days[0]), CAL.next_trading_day(days[-1])}
        out.update((names[0], d) for d in picks)
    return sorted(out, key=lambda x: (x[1], x[0]))


REGIME_DAYS = _regime_days()


@pytest.mark.parametrize(("name", "day"), REGIME_DAYS, ids=[f"{n}-{d}" for n, d in REGIME_DAYS])
def test_a_synthetic_day_of_every_historical_regime_validates_clean(name: str, day: date) -> None:
    v = run_day(name, day)
    assert session_findings(v) == []
    assert v.status is DayStatus.OK, [(f.check, f.message) for f in v.findings]


def _moved(code: str, first: date) -> TradingCalendar:
    """A calendar whose history says ``code``'s night started on ``first`` instead."""
    rows: list[Regime] = []
    for r in shipped_history():
        if r.kind == "introduced" and code in r.varieties:
            r = dataclasses.replace(r, first=first)
        rows.append(r)
    return TradingCalendar(history=rows)


def test_an_inferred_first_night_never_fails_a_day_by_itself() -> None:
    # DCE eb's first night (2019-09-27) is inferred from its listing. Had it started a
    # week later, the shipped calendar would expect a night the data does not have ...
    day = date(2019, 9, 30)
    v = run_day("KQ.m@DCE.eb", day, made_by=_moved("eb", date(2019, 10, 14)))
    (empty,) = [f for f in v.findings if f.check == "empty_session"]
    assert empty.severity is Severity.WARN and "inferred" in empty.message
    assert v.status is DayStatus.WARN
    assert v.metrics["sessions_low_confidence"] == 1.0
    # ... and had it started earlier, the night ticks would be outside every session.
    day = date(2019, 9, 20)
    v = run_day("KQ.m@DCE.eb", day, made_by=_moved("eb", date(2019, 9, 2)))
    (outside,) = [f for f in v.findings if f.check == "outside_session"]
    assert v.metrics["outside_session_s"] > Thresholds().outside_error_s
    assert outside.severity is Severity.WARN and "capped at warn" in outside.message
    assert v.status is DayStatus.WARN


def test_a_two_source_boundary_still_fails_the_day() -> None:
    day = date(2019, 9, 30)
    without_night = TradingCalendar(no_night=[NoNightPeriod(day, day)])
    v = run_day("KQ.m@DCE.m", day, made_by=without_night)
    (empty,) = [f for f in v.findings if f.check == "empty_session"]
    assert empty.severity is Severity.ERROR and v.status is DayStatus.FAIL
    # DCE moved the night close 02:30 -> 23:30 from trading day 2015-05-11 (two sources):
    # data that still ran to 02:30 is 3 hours outside every session, and fails.
    late = TradingCalendar(
        night_hours=[NightHours(date(2015, 5, 11), date(2015, 5, 11), 26 * 3600 + 1800)]
    )
    v = run_day("KQ.m@DCE.m", date(2015, 5, 11), made_by=late)
    (outside,) = [f for f in v.findings if f.check == "outside_session"]
    assert outside.severity is Severity.ERROR and v.status is DayStatus.FAIL


def _with_tick_at(name: str, day: date, ns: int) -> pd.DataFrame:
    frame, _ = simulate_day(CFG, CAL, parse_main(name), day)
    ticks = frame.ticks
    extra = ticks.iloc[[0]].copy()
    extra["datetime"] = np.int64(ns)
    return pd.concat([extra, ticks], ignore_index=True).sort_values("datetime", kind="stable")


@pytest.mark.parametrize(("day", "expected"), [(date(2023, 5, 26), 0), (date(2023, 5, 25), 1)])
def test_ticks_in_the_morning_call_auction_are_expected_from_2023_05_26(
    day: date, expected: int
) -> None:
    th = Thresholds(auction_tolerance_s=0)  # only the sessions' own auctions are tolerated
    at_0859 = local_midnight_ns(day) + (8 * 3600 + 59 * 60) * NS_PER_S
    frame = _with_tick_at("KQ.m@DCE.m", day, at_0859)
    v = validate_day(frame, symbol="KQ.m@DCE.m", trading_day=day, calendar=CAL, thresholds=th)
    assert len([f for f in v.findings if f.check == "outside_session"]) == expected
    night_auction = CAL.sessions(parse_main("KQ.m@DCE.m").variety, day)[0].start_ns - 60 * NS_PER_S
    frame = _with_tick_at("KQ.m@DCE.m", day, night_auction)  # 20:59: the night's auction
    v = validate_day(frame, symbol="KQ.m@DCE.m", trading_day=day, calendar=CAL, thresholds=th)
    assert [f for f in v.findings if f.check == "outside_session"] == []


TEN_YEARS = ("KQ.m@DCE.m", "KQ.m@SHFE.rb", "KQ.m@CZCE.SR")


def _validate_year(name: str, year: int) -> tuple[int, list[str]]:
    cal = TradingCalendar()
    symbol: MainSymbol = parse_main(name)
    bad: list[str] = []
    days = cal.trading_days(date(year, 1, 1), date(year, 12, 31))
    for day in days:
        frame, _ = simulate_day(CFG, cal, symbol, day)
        v = validate_day(frame.ticks, symbol=name, trading_day=day, calendar=cal)
        bad.extend(
            f"{name} {day} {f.check} {f.message}" for f in v.findings if f.check in SESSION_CHECKS
        )
        if v.status is not DayStatus.OK:
            bad.append(f"{name} {day} status {v.status}")
    return len(days), bad


@pytest.mark.slow
def test_ten_years_of_dce_m_shfe_rb_czce_sr_validate_without_session_findings() -> None:
    jobs = [(name, year) for name in TEN_YEARS for year in range(2013, 2026)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_validate_year, *zip(*jobs, strict=True)))
    days = sum(n for n, _ in results)
    bad = [line for _, lines in results for line in lines]
    assert days > 3 * 3000
    assert bad == []
