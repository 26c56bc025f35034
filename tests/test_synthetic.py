from datetime import date

import numpy as np
import pandas as pd
import pytest

from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.errors import MaintenanceError, RetryableError
from ghtrader_core.sources.base import TickSource
from ghtrader_core.sources.synthetic.source import (
    FAULT_KINDS,
    SyntheticConfig,
    SyntheticSource,
    simulate_day,
)
from ghtrader_core.symbols import parse_main
from ghtrader_core.ticks import DEEP_BOOK, TICK_COLUMNS

CAL = TradingCalendar()
CU = parse_main("KQ.m@SHFE.cu")
M = parse_main("KQ.m@DCE.m")
DAY = date(2025, 11, 4)


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a = simulate_day(SyntheticConfig(seed=1), CAL, CU, DAY)[0].ticks
    b = simulate_day(SyntheticConfig(seed=1), CAL, CU, DAY)[0].ticks
    c = simulate_day(SyntheticConfig(seed=2), CAL, CU, DAY)[0].ticks
    pd.testing.assert_frame_equal(a, b)
    assert not a["last_price"].equals(c["last_price"])


def test_every_tick_is_inside_a_session_at_500ms_and_on_the_tick_grid() -> None:
    day = simulate_day(SyntheticConfig(), CAL, CU, DAY)[0]
    ts = day.ticks["datetime"].to_numpy()
    sessions = CAL.sessions(CU.variety, DAY)
    inside = np.zeros(len(ts), bool)
    for s in sessions:
        inside |= (ts > s.start_ns) & (ts <= s.end_ns)
    assert inside.all()
    assert len(ts) == sum(int(s.seconds * 2) for s in sessions)
    prices = day.ticks[["last_price", "bid_price1", "ask_price5"]].to_numpy() / 10
    assert np.allclose(prices, np.round(prices))
    assert (np.diff(day.ticks["volume"]) >= 0).all()
    assert (day.ticks["bid_price1"] < day.ticks["ask_price1"]).all()
    assert list(day.ticks.columns) == TICK_COLUMNS
    assert day.contract == "SHFE.cu2601"


def test_five_levels_on_shfe_level_one_elsewhere_configurable() -> None:
    assert simulate_day(SyntheticConfig(), CAL, CU, DAY)[0].ticks[DEEP_BOOK].notna().all().all()
    dce = simulate_day(SyntheticConfig(), CAL, M, DAY)[0].ticks
    assert dce[DEEP_BOOK].isna().all().all() and dce["bid_price1"].notna().all()
    dce5 = simulate_day(SyntheticConfig(l5_exchanges=("DCE",)), CAL, M, DAY)[0].ticks
    assert dce5[DEEP_BOOK].notna().all().all()


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_injected_faults_have_ground_truth_that_matches_the_data(kind: str) -> None:
    cfg = SyntheticConfig(fault_rates={kind: 1.0})
    day, faults = simulate_day(cfg, CAL, CU, DAY)
    clean = simulate_day(SyntheticConfig(), CAL, CU, DAY)[0].ticks
    assert [f.kind for f in faults] == [kind]
    rows = faults[0].rows_ns
    t = day.ticks.set_index("datetime", drop=False)
    if kind == "gap":
        assert len(clean) - len(day.ticks) == 120
        assert ((t.index > rows[0]) & (t.index < rows[1])).sum() == 0
    elif kind == "crossed_book":
        assert (t.loc[list(rows), "bid_price1"] > t.loc[list(rows), "ask_price1"]).all()
    elif kind == "nan_price":
        assert t.loc[list(rows), "last_price"].isna().all()
    elif kind == "duplicate_timestamp":
        assert day.ticks["datetime"].duplicated().sum() == len(rows)
    elif kind == "non_positive_price":
        assert (t.loc[list(rows), "last_price"] <= 0).all()
    elif kind == "decreasing_volume":
        assert (np.diff(day.ticks["volume"]) < 0).sum() >= len(rows)


def test_source_satisfies_protocol_and_injects_errors_on_first_attempt_only() -> None:
    slept: list[float] = []
    src = SyntheticSource(CAL, SyntheticConfig(timeout_rate=1.0, latency_s=0.25),
                          sleep=slept.append)
    assert isinstance(src, TickSource)
    with pytest.raises(RetryableError):
        src.fetch_day(CU, DAY)
    assert src.fetch_day(CU, DAY).rows > 0
    assert slept == [0.25, 0.25]
    maint = SyntheticSource(CAL, SyntheticConfig(maintenance_rate=1.0, maintenance_wait_s=7))
    with pytest.raises(MaintenanceError) as info:
        maint.fetch_day(CU, DAY)
    assert info.value.wait_s == 7


def test_non_trading_day_gives_an_empty_day() -> None:
    assert simulate_day(SyntheticConfig(), CAL, CU, date(2025, 11, 8))[0].rows == 0
