"""Typed access for tests where the static types are wider than the values.

A backend's own config table (``[source.synthetic]``, ``[store.questdb]``) is added to
the config model at run time from the registry, so statically ``cfg.source`` has only the
shared fields. A pandas cell is, to pandas-stubs, any scalar pandas can hold. These
helpers check the value once and hand back the type the test means.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T")


def backend_table(section: object, kind: str, model: type[T]) -> T:
    """``section.<kind>`` (a registered backend's table), checked to be ``model``."""
    table = getattr(section, kind)
    assert isinstance(table, model), f"{kind}: {type(table).__name__}, not {model.__name__}"
    return table


def float_at(frame: pd.DataFrame, row: object, column: str) -> float:
    """The cell at label ``row`` of ``column`` as a float (NaN stays NaN)."""
    value = frame.at[row, column]
    assert isinstance(value, int | float | np.integer | np.floating), repr(value)
    return float(value)


def int_at(frame: pd.DataFrame, row: object, column: str) -> int:
    """The cell at label ``row`` of an integer ``column`` as an int."""
    value = frame.at[row, column]
    assert isinstance(value, int | np.integer), repr(value)
    return int(value)


def float_iat(column: pd.Series, position: int) -> float:
    """The value at ``position`` of ``column`` as a float (NaN stays NaN)."""
    value = column.iat[position]
    assert isinstance(value, int | float | np.integer | np.floating), repr(value)
    return float(value)
