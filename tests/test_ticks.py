from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.sources.synthetic.source import SyntheticConfig, simulate_day
from ghtrader_core.symbols import parse_main
from ghtrader_core.ticks import (
    DAY_DTYPES,
    DEEP_BOOK,
    SOURCE_COLUMNS,
    TICK_COLUMNS,
    TickSchemaError,
    fingerprint,
    normalize,
)
from tests.typing_helpers import float_at

REAL = Path(__file__).parent / "data" / "real-ticks" / "tqsdk_SHFE.cu1909_L5_20190912_200ticks.csv"


def _norm(frame: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    return normalize(frame, symbol="KQ.m@SHFE.cu", contract="SHFE.cu1909",
                     trading_day=date(2019, 9, 12))


def test_real_tqsdk_file_normalises_to_the_schema_losslessly() -> None:
    raw = pd.read_csv(REAL)
    ticks, notes = _norm(raw)
    assert list(ticks.columns) == TICK_COLUMNS
    assert notes == ()
    assert ticks["datetime"].dtype == np.int64 and ticks["id"].dtype == np.int64
    assert (ticks["datetime"].to_numpy() == raw["datetime"].to_numpy()).all()
    assert np.allclose(ticks["ask_price5"], raw["ask_price5"], equal_nan=True)
    assert set(ticks["contract"]) == {"SHFE.cu1909"}


def test_l1_frame_gets_nan_levels_without_notes_but_missing_core_columns_are_noted() -> None:
    raw = pd.read_csv(REAL).drop(columns=[*DEEP_BOOK, "open_interest"])
    ticks, notes = _norm(raw)
    assert ticks[DEEP_BOOK].isna().all().all()
    assert notes == ("open_interest: missing column, filled with NaN",)


def test_text_values_become_nan_and_are_not_a_crash() -> None:
    raw = pd.read_csv(REAL).astype({"last_price": object})
    raw.loc[3, "last_price"] = "garbage"
    ticks, _ = _norm(raw)
    assert np.isnan(float_at(ticks, 3, "last_price"))


def test_a_frame_without_timestamps_is_refused_clearly() -> None:
    with pytest.raises(TickSchemaError, match="datetime"):
        _norm(pd.DataFrame({"last_price": [1.0]}))


def test_empty_tqsdk_result_is_an_empty_schema_frame() -> None:
    ticks, notes = _norm(pd.DataFrame())
    assert len(ticks) == 0 and list(ticks.columns) == TICK_COLUMNS and notes == ()
    assert {c: str(t) for c, t in ticks.dtypes.items()} == DAY_DTYPES
    assert list(ticks["contract"].cat.categories) == ["SHFE.cu1909"]


def test_a_day_keeps_each_key_as_one_category_and_weighs_under_250_bytes_a_row() -> None:
    ticks, _ = _norm(pd.read_csv(REAL))  # an L5 day
    keys = {"symbol": "KQ.m@SHFE.cu", "contract": "SHFE.cu1909", "trading_day": date(2019, 9, 12)}
    for name, value in keys.items():
        column = ticks[name]
        assert isinstance(column.dtype, pd.CategoricalDtype)
        assert list(column.cat.categories) == [value]
        assert column.cat.codes.dtype == np.int8 and bool((column.cat.codes == 0).all())
        assert column.iat[0] == value and column.iat[-1] == value
    # what the sink's byte budget weighs (no per-row objects behind it either: deep as well)
    for deep in (False, True):
        assert ticks.memory_usage(index=False, deep=deep).sum() / len(ticks) < 250
    assert {c: str(t) for c, t in ticks.dtypes.items()} == DAY_DTYPES


def test_a_day_fingerprint_is_what_it_was_with_text_keys() -> None:
    # pinned: computed before the key columns became categoricals; stores hold these
    ticks, _ = _norm(pd.read_csv(REAL))
    assert fingerprint(ticks) == "200:be93be0d4ebb0a3a"
    day = simulate_day(SyntheticConfig(), TradingCalendar(), parse_main("KQ.m@SHFE.cu"),
                       date(2025, 11, 4))[0]
    assert fingerprint(day.ticks) == "55800:2b5dcb310d6950d3"


def test_fingerprint_ignores_row_order_but_sees_any_value_change() -> None:
    ticks, _ = _norm(pd.read_csv(REAL))
    fp = fingerprint(ticks)
    assert fp.startswith("200:")
    assert fingerprint(ticks.iloc[::-1]) == fp
    changed = ticks.copy()
    changed.loc[50, "bid_volume3"] = float_at(changed, 50, "bid_volume3") + 1
    assert fingerprint(changed) != fp
    assert fingerprint(ticks.iloc[:-1]) != fp
    assert set(SOURCE_COLUMNS) <= set(ticks.columns)
