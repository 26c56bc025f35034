"""The tick schema: TqSdk's tick columns, fixed dtypes, and normalisation of source frames.

TqSdk's ``get_tick_data_series`` returns ``id, datetime`` (int64; ns since the epoch) then
float64 prices, cumulative volume/amount/open interest and five book levels. Every source
normalises to exactly these columns plus ``symbol`` (the main series), ``contract`` (its
underlying that day) and ``trading_day``, so stores and validation see one shape.

A day frame (``normalize``, ``empty_ticks``) holds each key column as a ``category`` of the
day's one value (int8 codes: 1 B/row instead of ~16 for text and 8 for a ``date`` object;
an L5 day is ~235 B/row, not ~279). Frames read back from a store keep ``DTYPES``: the
key columns as text and ``date`` objects, whatever the store holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

LEVELS = 5
PRICE_COLUMNS = ["last_price", "highest", "lowest", "average"]
CUMULATIVE_COLUMNS = ["volume", "amount", "open_interest"]
BOOK_COLUMNS = [
    f"{side}_{kind}{i}"
    for i in range(1, LEVELS + 1)
    for side, kind in (("bid", "price"), ("bid", "volume"), ("ask", "price"), ("ask", "volume"))
]
FLOAT_COLUMNS = PRICE_COLUMNS + CUMULATIVE_COLUMNS + BOOK_COLUMNS
SOURCE_COLUMNS = ["id", "datetime", *FLOAT_COLUMNS]
KEY_COLUMNS = ["symbol", "contract", "trading_day"]
TICK_COLUMNS = SOURCE_COLUMNS + KEY_COLUMNS
DTYPES: dict[str, str] = {  # a frame read from a store (text keys: object or pandas 3 str)
    "id": "int64",
    "datetime": "int64",
    **dict.fromkeys(FLOAT_COLUMNS, "float64"),
    "symbol": "object",
    "contract": "object",
    "trading_day": "object",
}
DAY_DTYPES: dict[str, str] = {  # what a day frame (a source's, normalised) has
    **DTYPES,
    **dict.fromkeys(KEY_COLUMNS, "category"),
}
L1_BOOK = [c for c in BOOK_COLUMNS if c.endswith("1")]
DEEP_BOOK = [c for c in BOOK_COLUMNS if not c.endswith("1")]


class TickSchemaError(ValueError):
    """A source frame that cannot be brought into the tick schema (e.g. no timestamps)."""


@dataclass(frozen=True)
class DayFrame:
    """The ticks of one main symbol on one trading day, with the contract behind them."""

    symbol: str
    trading_day: date
    contract: str
    ticks: pd.DataFrame
    notes: tuple[str, ...] = field(default=())  # what normalisation had to repair

    @property
    def rows(self) -> int:
        return len(self.ticks)


UNPARSABLE_ATTR = "unparsable"  # DataFrame.attrs key: column -> values normalize() lost


def empty_ticks(
    symbol: str | None = None, contract: str | None = None, trading_day: date | None = None
) -> pd.DataFrame:
    """A day frame without rows; key columns are categoricals of the values given (of none
    when a value is not given)."""
    ticks = pd.DataFrame({c: pd.Series([], dtype=DTYPES[c]) for c in SOURCE_COLUMNS})
    return _with_keys(ticks, (symbol, contract, trading_day))


def empty_read_ticks() -> pd.DataFrame:
    """A frame without rows as a store's read returns it (``DTYPES``)."""
    return pd.DataFrame({c: pd.Series([], dtype=DTYPES[c]) for c in TICK_COLUMNS})


def _with_keys(ticks: pd.DataFrame, values: tuple[object, ...]) -> pd.DataFrame:
    """``ticks`` with the key columns appended, each a categorical of its one value (int8
    codes, all 0) built without a Python object per row; no value: no category (0 rows)."""
    codes = np.zeros(len(ticks), dtype=np.int8)
    for name, value in zip(KEY_COLUMNS, values, strict=True):
        categories = pd.Index([] if value is None else [value])
        ticks[name] = pd.Categorical.from_codes(codes, categories=categories)
    return ticks


def normalize(
    frame: pd.DataFrame, *, symbol: str, contract: str, trading_day: date
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Bring a source frame into the tick schema; return it and notes on what was repaired.

    Missing optional columns become NaN (TqSdk omits levels 2..5 for L1 exchanges), values
    that do not parse become NaN. Only a frame without ``datetime`` is refused: without
    timestamps nothing can be stored or checked.
    """
    notes: list[str] = []
    unparsable: dict[str, int] = {}
    if len(frame) == 0 and len(frame.columns) == 0:
        return empty_ticks(symbol, contract, trading_day), ()
    if "datetime" not in frame.columns:
        raise TickSchemaError(f"frame has no 'datetime' column (columns: {list(frame.columns)})")
    out: dict[str, object] = {}
    n = len(frame)
    dt = frame["datetime"]
    if not pd.api.types.is_integer_dtype(dt):
        parsed = pd.to_numeric(dt, errors="coerce")
        if parsed.isna().any():
            raise TickSchemaError(f"{int(parsed.isna().sum())} rows have no valid 'datetime'")
        notes.append(f"datetime: cast from {dt.dtype} to int64")
        dt = parsed
    out["datetime"] = dt.to_numpy(dtype="int64")
    if "id" in frame.columns:
        ids = pd.to_numeric(frame["id"], errors="coerce")
        if ids.isna().any():
            notes.append(f"id: {int(ids.isna().sum())} unparsable values replaced by -1")
        out["id"] = ids.fillna(-1).to_numpy(dtype="int64")
    else:
        notes.append("id: missing column, filled with -1")
        out["id"] = np.full(n, -1, dtype="int64")
    for col in FLOAT_COLUMNS:
        if col not in frame.columns:
            if col not in DEEP_BOOK:
                notes.append(f"{col}: missing column, filled with NaN")
            out[col] = np.full(n, np.nan)
            continue
        values = frame[col]
        if not pd.api.types.is_float_dtype(values):
            parsed = _to_float(values)
            lost = int((parsed.isna() & values.notna()).sum())
            if lost:
                notes.append(f"{col}: {lost} unparsable values replaced by NaN")
                unparsable[col] = lost
            values = parsed
        if values.dtype == np.float64:  # already in the schema: keep the array (no copy)
            out[col] = values.to_numpy(copy=False)
        else:
            out[col] = values.to_numpy(dtype="float64", na_value=np.nan)
    # copy=False: the columns stay the arrays built above, one block each, rather than
    # being consolidated into a copy of the whole day (the source frame is not kept).
    ticks = pd.DataFrame(out, columns=SOURCE_COLUMNS, copy=False)
    # The validator reports these as ``wrong_dtype``: after the cast the frame is float64
    # and could no longer tell a NaN the source sent from text it could not parse.
    ticks.attrs[UNPARSABLE_ATTR] = unparsable
    return _with_keys(ticks, (symbol, contract, trading_day)), tuple(notes)


def _to_float(values: pd.Series) -> pd.Series:
    """Parse a column to numbers; text becomes NaN, a number too large for float64 (a
    Python int from a CSV reader, say) becomes inf, which validation reports."""
    try:
        return pd.to_numeric(values, errors="coerce")
    except OverflowError:
        return pd.to_numeric(values.astype(str), errors="coerce")


def fingerprint(ticks: pd.DataFrame) -> str:
    """Row count and a checksum of the source columns: changes when any stored value does."""
    if len(ticks) == 0:
        return "0:empty"
    hashed = pd.util.hash_pandas_object(ticks[SOURCE_COLUMNS], index=False).to_numpy()
    digest = hashlib.blake2b(np.sort(hashed).tobytes(), digest_size=8).hexdigest()
    return f"{len(ticks)}:{digest}"
