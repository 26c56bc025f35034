from datetime import date

import pytest

from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.schedule import MainSchedule, ScheduleError, rule_contract, rule_schedule
from ghtrader_core.symbols import parse_main


def test_rule_schedule_rolls_mid_month_with_explicit_roll_days() -> None:
    cu = parse_main("KQ.m@SHFE.cu")
    days = TradingCalendar().trading_days(date(2025, 11, 3), date(2025, 11, 28))
    sched = rule_schedule(cu, days)
    assert sched.underlying(date(2025, 11, 3)) == "SHFE.cu2601"
    assert sched.underlying(date(2025, 11, 28)) == "SHFE.cu2602"
    assert [(s.first_day, s.contract) for s in sched.rolls()] == [
        (date(2025, 11, 17), "SHFE.cu2602")
    ]


def test_quarterly_varieties_only_roll_into_listed_months() -> None:
    m = parse_main("KQ.m@DCE.m")
    assert rule_contract(m, date(2025, 11, 3)) == "DCE.m2601"
    assert rule_contract(m, date(2025, 11, 20)) == "DCE.m2605"
    assert rule_contract(parse_main("KQ.m@CZCE.SR"), date(2025, 11, 20)) == "CZCE.SR605"


def test_schedule_from_tqsdk_style_days_and_lookup_errors() -> None:
    sched = MainSchedule.from_days(
        "KQ.m@SHFE.cu",
        [
            (date(2025, 1, 2), "SHFE.cu2502"),
            (date(2025, 1, 3), "SHFE.cu2502"),
            (date(2025, 1, 6), "SHFE.cu2503"),
            (date(2024, 12, 31), ""),
        ],
    )
    assert len(sched.segments) == 2
    assert sched.underlying(date(2025, 1, 5)) == "SHFE.cu2502"
    with pytest.raises(ScheduleError):
        sched.underlying(date(2024, 12, 31))
    assert sched.fingerprint() != MainSchedule(sched.symbol, sched.segments[:1]).fingerprint()
