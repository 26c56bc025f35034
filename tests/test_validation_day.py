"""``validate_day`` on whole days: clean synthetic days pass, every injected fault is found
by its check and only there, and bad input becomes findings, never an exception."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

import ghtrader_core.validation.quality as quality_mod
from ghtrader_core.calendar import NS_PER_S
from ghtrader_core.records import DayStatus, Severity
from ghtrader_core.sources.synthetic.source import FAULT_KINDS
from ghtrader_core.ticks import DEEP_BOOK, empty_ticks
from ghtrader_core.validation import FAULT_CHECKS, VALIDATOR_VERSION
from tests.typing_helpers import float_at
from tests.validation_helpers import MON, TUE, day_of, found, serious, validate

SYMBOLS = [
    "KQ.m@SHFE.cu",
    "KQ.m@SHFE.au",
    "KQ.m@DCE.m",
    "KQ.m@CZCE.SR",
    "KQ.m@CFFEX.IF",
    "KQ.m@CFFEX.T",
    "KQ.m@INE.sc",
    "KQ.m@GFEX.si",
]


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize("day", [MON, TUE, date(2025, 10, 9)])  # Monday, Tuesday, after a holiday
def test_clean_synthetic_days_get_no_warning_or_error(symbol: str, day: date) -> None:
    frame, _ = day_of(symbol, day)
    verdict = validate(frame.ticks, symbol, day)
    assert serious(verdict) == [], verdict.findings
    assert verdict.status is DayStatus.OK and verdict.score == 1.0
    assert verdict.validator_version == VALIDATOR_VERSION
    assert verdict.metrics["rows"] == frame.rows and verdict.metrics["tick_ratio"] == 1.0


def test_every_fault_kind_has_a_check() -> None:
    assert set(FAULT_CHECKS) == set(FAULT_KINDS)


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("symbol", ["KQ.m@SHFE.cu", "KQ.m@DCE.m", "KQ.m@CFFEX.IF"])
def test_each_injected_fault_is_found_by_its_check_and_nothing_else(kind: str, symbol: str) -> None:
    for day in (MON, TUE):
        frame, faults = day_of(symbol, day, **{kind: 1.0})
        (fault,) = faults
        verdict = validate(frame.ticks, symbol, day)
        check, column = FAULT_CHECKS[kind]
        assert [f.check for f in serious(verdict)] == [check], verdict.findings
        (finding,) = found(verdict, check, column)
        assert finding.severity in (Severity.WARN, Severity.ERROR)
        assert verdict.status is (
            DayStatus.FAIL if finding.severity is Severity.ERROR else DayStatus.WARN
        )
        assert verdict.score < 1.0
        if kind == "gap":
            start, end = fault.rows_ns
            assert any(g.start_ns == start or g.end_ns == end for g in verdict.gaps)
            assert verdict.metrics["largest_gap_s"] >= 30
        else:
            assert set(finding.examples_ns) == set(fault.rows_ns)
            assert finding.count == len(fault.rows_ns)


def test_all_faults_on_one_day_are_all_found() -> None:
    frame, faults = day_of("KQ.m@SHFE.cu", TUE, **dict.fromkeys(FAULT_KINDS, 1.0))
    verdict = validate(frame.ticks)
    checks = {(f.check, f.field) for f in verdict.findings}
    for fault in faults:
        assert FAULT_CHECKS[fault.kind] in checks
    assert verdict.status is DayStatus.FAIL


# -- bad input ---------------------------------------------------------------------------
def clean() -> pd.DataFrame:
    return day_of("KQ.m@SHFE.cu")[0].ticks


def test_missing_columns_are_findings_deep_levels_only_on_l5_exchanges() -> None:
    v = validate(clean().drop(columns=["last_price", "average"]))
    assert found(v, "missing_column", "last_price")[0].severity is Severity.ERROR
    assert found(v, "missing_column", "average")[0].severity is Severity.WARN
    assert v.status is DayStatus.FAIL
    dce = day_of("KQ.m@DCE.m")[0].ticks.drop(columns=DEEP_BOOK)
    assert serious(validate(dce, "KQ.m@DCE.m")) == []
    shfe = validate(clean().drop(columns=DEEP_BOOK))
    assert {f.field for f in found(shfe, "missing_column")} == set(DEEP_BOOK)


def test_no_datetime_column_skips_coverage_but_checks_fields() -> None:
    frame = clean().drop(columns=["datetime"])
    frame.loc[5, "bid_price1"] = float_at(frame, 5, "ask_price1") + 10
    v = validate(frame)
    assert found(v, "missing_column", "datetime")[0].severity is Severity.ERROR
    assert found(v, "crossed_book")[0].examples_ns == (-1,)


def test_wrong_dtypes_are_coerced_and_reported() -> None:
    frame = clean()
    frame["volume"] = frame["volume"].astype(str)
    frame.loc[3, "volume"] = "n/a"
    frame["open_interest"] = frame["open_interest"].astype("int64")
    frame["datetime"] = pd.to_datetime(frame["datetime"], unit="ns", utc=True)
    v = validate(frame)
    (vol,) = found(v, "wrong_dtype", "volume")
    assert vol.severity is Severity.WARN and vol.count == 1
    assert found(v, "null_values", "volume")[0].count == 1
    assert found(v, "wrong_dtype", "open_interest")[0].severity is Severity.INFO
    assert found(v, "wrong_dtype", "datetime")[0].severity is Severity.INFO
    assert found(v, "gap") == [] and v.metrics["tick_ratio"] == 1.0  # datetimes understood


def test_unparsable_timestamps_are_dropped_from_coverage() -> None:
    frame = clean()
    frame["datetime"] = frame["datetime"].astype("float64")
    frame.loc[[10, 11], "datetime"] = np.nan
    v = validate(frame)
    assert found(v, "bad_timestamp")[0].count == 2
    assert found(v, "bad_timestamp")[0].examples_ns == (10, 11)  # row numbers


def test_all_nan_columns_are_findings() -> None:
    frame = clean()
    frame["last_price"] = np.nan
    frame["highest"] = np.nan
    v = validate(frame)
    assert found(v, "null_values", "last_price")[0].severity is Severity.ERROR
    assert "all values" in found(v, "null_values", "highest")[0].message
    assert v.status is DayStatus.FAIL


@pytest.mark.parametrize(
    "frame",
    [pd.DataFrame(), empty_ticks(), empty_ticks()[["datetime", "last_price"]]],
    ids=["no-columns", "schema-no-rows", "two-columns-no-rows"],
)
def test_zero_rows_fail_the_day_without_raising(frame: pd.DataFrame) -> None:
    v = validate(frame)
    assert found(v, "no_rows") and v.status is DayStatus.FAIL
    if "datetime" in frame.columns:
        assert found(v, "missing_day")


def test_too_few_rows() -> None:
    assert found(validate(clean().head(10)), "too_few_rows")[0].count == 10


def test_rows_from_the_wrong_trading_day() -> None:
    frame = clean()
    tomorrow = day_of("KQ.m@SHFE.cu", date(2025, 11, 5))[0].ticks.head(7)
    v = validate(pd.concat([frame, tomorrow], ignore_index=True))
    (f,) = found(v, "wrong_trading_day")
    assert f.count == 7 and f.examples_ns[0] == int(tomorrow["datetime"].iloc[0])
    assert found(v, "outside_session") == []  # counted once, as the wrong day
    shifted = frame.assign(datetime=frame["datetime"] + 86400 * NS_PER_S)
    assert validate(shifted).status is DayStatus.FAIL


def test_an_unknown_symbol_or_a_holiday_is_a_finding() -> None:
    frame = clean()
    assert found(validate(frame, "KQ.m@SHFE.zz"), "unknown_symbol")
    assert found(validate(frame, "KQ.m@SHFE.cu", date(2025, 10, 1)), "not_a_trading_day")


def test_a_defect_in_a_check_becomes_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(quality_mod, "_jumps", boom)
    v = validate(clean())
    (f,) = v.findings
    assert f.check == "validator_error" and "ZeroDivisionError" in f.message
    assert v.status is DayStatus.FAIL and v.score < 1


def test_a_duplicated_column_name_is_read_by_position() -> None:
    frame = clean()
    twice = pd.concat([frame, frame[["last_price"]]], axis=1)
    assert [f.check for f in serious(validate(twice))] == []
