from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ghtrader_core.ticks import (
    DEEP_BOOK,
    SOURCE_COLUMNS,
    TICK_COLUMNS,
    TickSchemaError,
    fingerprint,
    normalize,
)

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
    assert np.isnan(ticks.loc[3, "last_price"])


def test_a_frame_without_timestamps_is_refused_clearly() -> None:
    with pytest.raises(TickSchemaError, match="datetime"):
        _norm(pd.DataFrame({"last_price": [1.0]}))


def test_empty_tqsdk_result_is_an_empty_schema_frame() -> None:
    ticks, notes = _norm(pd.DataFrame())
    assert len(ticks) == 0 and list(ticks.columns) == TICK_COLUMNS and notes == ()


def test_fingerprint_ignores_row_order_but_sees_any_value_change() -> None:
    ticks, _ = _norm(pd.read_csv(REAL))
    fp = fingerprint(ticks)
    assert fp.startswith("200:")
    assert fingerprint(ticks.iloc[::-1]) == fp
    changed = ticks.copy()
    changed.loc[50, "bid_volume3"] += 1
    assert fingerprint(changed) != fp
    assert fingerprint(ticks.iloc[:-1]) != fp
    assert set(SOURCE_COLUMNS) <= set(ticks.columns)
