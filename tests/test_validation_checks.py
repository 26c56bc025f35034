"""Each check on its own, on small hand-made frames: what fires, what does not."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader_core.calendar import NS_PER_S
from ghtrader_core.records import Severity
from ghtrader_core.validation import trading_day_window
from ghtrader_core.validation.coverage import check_order, check_sessions, check_trading_day
from ghtrader_core.validation.quality import check_quality
from ghtrader_core.validation.results import CheckResult
from ghtrader_core.validation.thresholds import Thresholds
from tests.validation_helpers import CAL, MON, TH, TUE, cols, found, serious, session, stamps

N = 50
TS = np.arange(N, dtype=np.int64) * 500_000_000 + 1_700_000_000 * NS_PER_S


def quality(
    exchange: str = "DCE", tick: float = 1.0, th: Thresholds = TH, /, **over: np.ndarray
) -> CheckResult:
    """Positional-only settings, so that a column override can never land in one of them."""
    return check_quality(cols(N, **over), TS, exchange=exchange, tick_size=tick, th=th)


def test_a_clean_quote_has_no_findings() -> None:
    assert quality().findings == []


def test_nulls_warn_then_fail_above_the_core_rate_and_name_their_rows() -> None:
    ts = np.arange(1000, dtype=np.int64)
    last = np.full(1000, 100.0)
    last[7] = np.nan  # 0.1 %: a warning
    r = check_quality(cols(1000, last_price=last), ts, exchange="DCE", tick_size=1.0, th=TH)
    (f,) = found(r, "null_values", "last_price")
    assert (f.severity, f.count, f.examples_ns) == (Severity.WARN, 1, (7,))
    assert r.metrics["null_rate.last_price"] == 0.001
    last = np.full(N, 100.0)
    last[:10] = np.nan  # 20 %: over the 1 % allowed for a core field
    (f,) = found(quality(last_price=last), "null_values", "last_price")
    assert f.severity is Severity.ERROR and f.count == 10
    avg = np.full(N, np.nan)  # an all-NaN non-core column: a warning that says so
    (f,) = found(quality(average=avg), "null_values", "average")
    assert f.severity is Severity.WARN and "all values" in f.message


def test_deep_levels_nan_is_expected_outside_l5_exchanges_only() -> None:
    deep = {
        f"{s}_{k}{i}": np.full(N, np.nan)
        for i in range(2, 6)
        for s in ("bid", "ask")
        for k in ("price", "volume")
    }
    assert serious(quality("DCE", **deep)) == []
    r = quality("SHFE", **deep)
    assert [f.check for f in serious(r)] == ["l5_null_rate"]
    assert r.metrics["null_rate.l5_mean"] == 1.0


def test_crossed_and_locked_books_but_not_an_empty_side() -> None:
    bid = np.full(N, 99.0)
    bid[3], bid[4] = 100.0, 101.0  # locked, crossed
    ask = np.full(N, 100.0)
    ask[5], bid[5] = 0.0, 99.0  # an empty ask side (0) is not a crossed book
    (f,) = found(quality(bid_price1=bid, ask_price1=ask), "crossed_book")
    assert f.count == 2 and f.examples_ns == (int(TS[3]), int(TS[4]))
    assert f.severity is Severity.ERROR


def test_book_ladders_must_be_strictly_ordered_where_levels_exist() -> None:
    ladder = {
        "bid_price2": np.full(N, 98.0),
        "ask_price2": np.full(N, 101.0),
        "bid_price3": np.full(N, np.nan),
        "ask_price3": np.full(N, np.nan),
    }
    assert found(quality(**ladder), "book_ladder") == []
    ladder["bid_price2"] = ladder["bid_price2"].copy()
    ladder["bid_price2"][9] = 99.0  # equal to bid1: not strictly descending
    ladder["ask_price2"] = ladder["ask_price2"].copy()
    ladder["ask_price2"][[1, 2]] = 99.5
    assert [(f.field, f.count) for f in found(quality(**ladder), "book_ladder")] == [
        ("bid", 1),
        ("ask", 2),
    ]


def test_signs_of_prices_volumes_and_open_interest() -> None:
    last = np.full(N, 100.0)
    last[2] = 0.0
    vol = np.arange(N, dtype=np.float64)
    vol[0] = -1.0
    oi = np.full(N, 500.0)
    oi[4] = -3.0
    r = quality(last_price=last, bid_volume1=-np.ones(N), open_interest=oi)
    assert found(r, "non_positive_price", "last_price")[0].examples_ns == (int(TS[2]),)
    assert found(r, "negative_volume", "bid_volume1")[0].count == N
    assert found(r, "negative_open_interest")[0].count == 1
    # a zero price is reported once, by its own check: not as a jump or out of range
    assert found(r, "price_jump") == [] and found(r, "last_outside_range") == []


def test_last_price_outside_the_days_range() -> None:
    last = np.full(N, 100.0)
    last[6] = 102.0
    last[8] = np.nan
    (f,) = found(quality(last_price=last), "last_outside_range")
    assert f.count == 1 and f.examples_ns == (int(TS[6]),)


def test_cumulative_fields_must_not_decrease_nan_rows_skipped() -> None:
    vol = np.arange(N, dtype=np.float64)
    vol[10] = np.nan  # skipped, not a decrease
    vol[20] = 5.0
    (f,) = found(quality(volume=vol), "cumulative_decreasing", "volume")
    assert f.count == 1 and f.examples_ns == (int(TS[20]),)
    amount = np.arange(N, dtype=np.float64) * 1000
    amount[30] = amount[29] - 0.5
    assert found(quality(amount=amount), "cumulative_decreasing", "amount")[0].count == 1


def test_price_jumps_beyond_the_robust_threshold() -> None:
    rng = np.random.default_rng(0)
    last = 1000.0 + np.cumsum(rng.choice([-1.0, 0.0, 1.0], size=N))
    wide = {"last_price": last, "highest": np.full(N, 5000.0), "lowest": np.full(N, 1.0)}
    assert found(quality(**wide), "price_jump") == []
    last[25:] += 60  # a step of 60 ticks: above 30 x 1.48 x median |move| = 44 ticks
    (f,) = found(quality(**wide), "price_jump")
    assert f.count == 1 and f.examples_ns == (int(TS[25]),)
    small = last.copy()
    small[25:] -= 45  # 15 ticks: under the 20-tick floor
    assert (
        found(
            quality(last_price=small, highest=np.full(N, 5000.0), lowest=np.full(N, 1.0)),
            "price_jump",
        )
        == []
    )


def test_prices_off_the_tick_grid_float_noise_is_not() -> None:
    gold = {
        "last_price": np.full(N, 500.04),
        "highest": np.full(N, 500.1),
        "lowest": np.full(N, 499.98),
        "bid_price1": np.full(N, 500.02),
        "ask_price1": np.full(N, 500.06),
    }
    assert found(quality("SHFE", 0.02, **gold), "off_tick_grid") == []
    gold["ask_price1"] = gold["ask_price1"].copy()
    gold["ask_price1"][11] = 500.07
    (f,) = found(quality("SHFE", 0.02, **gold), "off_tick_grid", "ask_price1")
    assert f.examples_ns == (int(TS[11]),) and f.severity is Severity.WARN


def test_order_out_of_order_and_duplicates() -> None:
    ts = TS.copy()
    ts[[10, 11]] = ts[[11, 10]]
    ts[30] = ts[29]
    result, ordered = check_order(ts, TH)
    assert found(result, "out_of_order")[0].count == 1
    assert found(result, "duplicate_timestamp")[0].examples_ns == (int(TS[29]),)
    assert (np.diff(ordered) >= 0).all()


def test_the_trading_day_window_runs_from_18h_of_the_previous_trading_day() -> None:
    lo, hi = trading_day_window(CAL, TUE)  # Monday 18:00 .. Tuesday 18:00 Beijing time
    stamps_ = np.array([lo - 1, lo, hi - 1, hi], dtype=np.int64)
    result, wrong = check_trading_day(stamps_, (lo, hi), TH)
    assert wrong.tolist() == [True, False, False, True]
    assert found(result, "wrong_trading_day")[0].severity is Severity.ERROR
    mon_lo, _ = trading_day_window(CAL, MON)  # Monday: from Friday 18:00
    assert (lo - mon_lo) // NS_PER_S == 3 * 86400


AM = session(9 * 3600, 10 * 3600, "am")
PM = session(13 * 3600, 14 * 3600, "pm")


def test_full_sessions_give_clean_coverage_metrics() -> None:
    ts = np.concatenate([stamps(AM), stamps(PM)])
    r = check_sessions(ts, [AM, PM], "DCE", TH)
    assert serious(r) == [] and r.gaps == []
    m = r.metrics
    assert m["expected_session_s"] == 7200 and m["ticks_expected"] == 14400
    assert m["ticks_in_session"] == 14400 and m["tick_ratio"] == 1.0
    assert m["fixed_cadence"] == 1.0 and m["missing_half_seconds"] == 0
    assert m["off_cadence_share"] == 0.0 and m["largest_gap_s"] == 0.5
    assert m["sessions_observed"] == 2 and m["last_tick_lag_s_max"] == 0.0


def test_a_gap_has_exact_bounds_and_buckets_and_thresholds_per_exchange() -> None:
    ts = np.concatenate([stamps(AM, skip=[(100, 120)]), stamps(PM)])  # 10 s without ticks
    r = check_sessions(ts, [AM, PM], "DCE", TH)
    (g,) = r.gaps
    assert (g.session, g.start_ns, g.end_ns) == ("am", int(ts[99]), int(ts[100]))
    assert g.length_s == 10.5 and r.metrics["largest_gap_s"] == 10.5
    assert r.metrics["gaps_6_15s"] == 1 and r.metrics["gaps_over_30s"] == 0
    (f,) = found(r, "gap")
    assert f.severity is Severity.WARN  # under gap_error_s (30 s)
    lenient = Thresholds(gap_s_by_exchange={"DCE": 20.0})
    assert check_sessions(ts, [AM, PM], "DCE", lenient).gaps == []
    assert check_sessions(ts, [AM, PM], "SHFE", lenient).gaps != []
    long = np.concatenate([stamps(AM, skip=[(100, 200)]), stamps(PM)])
    assert found(check_sessions(long, [AM, PM], "DCE", TH), "gap")[0].severity is Severity.ERROR


def test_late_first_and_early_last_ticks_are_gaps_at_the_session_edges() -> None:
    ts = np.concatenate([stamps(AM, skip=[(0, 20)]), stamps(PM, skip=[(7180, 7200)])])
    r = check_sessions(ts, [AM, PM], "DCE", TH)
    assert [(g.start_ns, g.end_ns) for g in r.gaps] == [
        (AM.start_ns, int(ts[0])),
        (int(ts[-1]), PM.end_ns),
    ]
    assert r.metrics["first_tick_delay_s_max"] == 10.5
    assert r.metrics["last_tick_lag_s_max"] == 10.0


def test_an_empty_session_and_a_missing_day() -> None:
    r = check_sessions(stamps(AM), [AM, PM], "DCE", TH)
    (f,) = found(r, "empty_session")
    assert f.severity is Severity.ERROR and "pm" in f.message
    assert r.metrics["sessions_observed"] == 1
    none = check_sessions(np.array([], dtype=np.int64), [AM, PM], "DCE", TH)
    assert found(none, "missing_day") and none.metrics["missing_day"] == 1.0


def test_ticks_outside_sessions_with_auction_and_close_tolerance() -> None:
    auction = AM.start_ns - 60 * NS_PER_S  # the call auction minute before the open
    after_close = AM.end_ns + 2 * NS_PER_S
    stray = AM.end_ns + 600 * NS_PER_S  # the morning break
    ts = np.sort(np.concatenate([[auction, after_close, stray], stamps(AM), stamps(PM)]))
    r = check_sessions(ts, [AM, PM], "DCE", TH)
    (f,) = found(r, "outside_session")
    assert f.count == 1 and f.examples_ns == (stray,) and f.severity is Severity.WARN
    many = np.sort(np.concatenate([AM.end_ns + np.arange(1, 200) * NS_PER_S, stamps(AM)]))
    assert (
        found(check_sessions(many, [AM, PM], "DCE", TH), "outside_session")[0].severity
        is Severity.ERROR
    )


def test_missing_half_seconds_warn_then_fail_on_a_fixed_cadence() -> None:
    every_other = np.concatenate([stamps(AM), stamps(PM)])
    thin = every_other.copy()
    drop = np.zeros(len(thin), dtype=bool)
    drop[1000 : 1000 + 600 : 2] = True  # 300 half-seconds of 14400: 2.1 %
    r = check_sessions(thin[~drop], [AM, PM], "DCE", TH)
    (f,) = found(r, "missing_half_seconds")
    assert f.severity is Severity.WARN and f.count == 300
    drop[1000 : 1000 + 1600] = True  # 800 whole seconds (the thinned ones among them): 11 %
    (f,) = found(check_sessions(thin[~drop], [AM, PM], "DCE", TH), "missing_half_seconds")
    assert f.severity is Severity.ERROR and f.count == 1600
    sparse = every_other[::4]  # one tick every 2 s: not a fixed cadence, only info
    r = check_sessions(sparse, [AM, PM], "DCE", TH)
    assert r.metrics["fixed_cadence"] == 0.0 and found(r, "missing_half_seconds") == []
    assert found(r, "irregular_cadence")[0].severity is Severity.INFO
    assert r.metrics["off_cadence_share"] == 1.0


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs_do_not_break_the_checks(n: int) -> None:
    ts = TS[:n]
    order, kept = check_order(ts, TH)
    assert order.findings == [] and len(kept) == n
    assert order.metrics["out_of_order.count"] == order.metrics["out_of_order.rate"] == 0.0
    sessions = check_sessions(ts, [AM, PM], "DCE", TH)
    # no tick inside a session: the day is missing, whatever else is said
    (missing,) = found(sessions, "missing_day")
    assert missing.severity is Severity.ERROR and found(sessions, "validator_error") == []
    quality = check_quality(cols(n), ts, exchange="DCE", tick_size=1.0, th=TH)
    assert quality.findings == []
    assert all(np.isfinite(v) for v in quality.metrics.values())


def test_an_infinite_value_is_an_error_not_a_jump_or_a_warning() -> None:
    last = np.full(N, 100.0)
    last[3] = np.inf
    vol = np.arange(N, dtype=np.float64)
    vol[1] = -np.inf
    r = quality(last_price=last, volume=vol)
    assert found(r, "non_finite", "last_price")[0].examples_ns == (int(TS[3]),)
    assert found(r, "non_finite", "volume")[0].count == 1
    assert found(quality(), "non_finite") == []
