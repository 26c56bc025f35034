"""Symbol-days written as tick-schema files that ``ReplaySource`` reads back (tests, the
demo, moving data between stores)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ghtrader_core.ticks import DayFrame


def export_name(day: DayFrame, suffix: str = ".parquet") -> str:
    """The file name ``export_day`` writes: main symbol, contract, trading day."""
    return f"{day.symbol}_{day.contract}_{day.trading_day:%Y%m%d}{suffix}"


def export_day(day: DayFrame, directory: Path, *, fmt: str = "parquet") -> Path:
    """Write one symbol-day as a tick-schema file that ``ReplaySource`` reads back."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / export_name(day, ".parquet" if fmt == "parquet" else ".csv")
    # the day frame's keys are categoricals; the file keeps them as plain text columns
    frame = day.ticks.drop(columns=["trading_day"]).astype({"symbol": str, "contract": str})
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def export_days(days: Iterable[DayFrame], directory: Path, *, fmt: str = "parquet") -> list[Path]:
    return [export_day(d, directory, fmt=fmt) for d in days]
