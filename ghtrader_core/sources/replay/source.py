"""Replay of exported tick files: a directory of CSV or Parquet files as a ``TickSource``.

Two layouts are read as they are:

* **tick-schema files**: columns named as in ``ticks.SOURCE_COLUMNS`` (``id``, ``datetime``
  as int64 ns since the epoch, prices, cumulative volume, ``bid_price1`` …), optionally a
  ``symbol`` column (a contract such as ``SHFE.cu1909``, or the main series) and a
  ``contract`` column. TqSdk's ``get_tick_data_series`` frames saved with ``to_csv`` and
  the files ``export_day`` writes are of this kind.
* **DataDownloader CSV** (``tqsdk.tools.DataDownloader``): ``datetime`` (text),
  ``datetime_nano`` and ``{symbol}.{column}`` columns, ``#N/A`` for missing values. It has
  no tick ``id``: ids become -1 (a normalisation note says so).

How files map to symbol-days (the documented rule):

1. The symbol comes from the file name (the first ``KQ.m@EX.var`` or ``EX.var2501``-like
   token) or, failing that, from the file's content (``symbol``/``contract`` column, or the
   DataDownloader column prefix). A contract maps to its main series ``KQ.m@EX.var``.
2. The trading days come from the ticks themselves (night ticks belong to the next trading
   day). A file may hold several days; each day is taken from it separately.
3. A date in the file name (``20190912`` or ``2019-09-12``) is a claim: the file must then
   hold exactly that trading day, else it is *mislabelled*. Likewise a symbol in the name
   that disagrees with the content.
4. Several files of the same contract for one day are merged (exact duplicate rows
   dropped); files of *different* contracts for one main-symbol day are ambiguous and fail.

A file that cannot be read, is truncated or is mislabelled makes the days it names fail
with the file and the reason (``PermanentError``: retrying will not repair a file); every
other file is ingested. A file whose days cannot be told at all is logged and skipped.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.errors import PermanentError
from ghtrader_core.symbols import MainSymbol, SymbolError, parse_contract, parse_main
from ghtrader_core.ticks import (
    SOURCE_COLUMNS,
    DayFrame,
    TickSchemaError,
    normalize,
)

log = logging.getLogger("ghtraderd.replay")

SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
DOWNLOADER_NA = ["#N/A"]
_MAIN_TOKEN = re.compile(r"KQ\.m@([A-Z]+)\.([A-Za-z]+)")
_CONTRACT_TOKEN = re.compile(r"(?<![A-Za-z])([A-Z]{3,5})\.([A-Za-z]{1,2})(\d{3,4})(?!\d)")
_DATE_TOKEN = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")


class ReplayFileError(ValueError):
    """A file that cannot be used: the message says why (read error, truncation, label)."""


@dataclass(frozen=True)
class Label:
    """What a file name or a file's content says about its symbol."""

    main: str | None = None  # "KQ.m@SHFE.cu"
    contract: str | None = None  # "SHFE.cu1909"


@dataclass
class ReplayFile:
    """One indexed file: where its days are, or why it cannot be used."""

    path: Path
    label: Label
    named_day: date | None
    days: tuple[date, ...] = ()
    problem: str | None = None

    @property
    def main(self) -> str | None:
        return self.label.main


@dataclass(frozen=True)
class ReplayConfig:
    directory: Path
    recursive: bool = True


def _label_of(contract_or_main: str, near_year: int = 2025) -> Label:
    text = contract_or_main.strip()
    if text.startswith("KQ."):
        return Label(main=str(parse_main(text)))
    contract = parse_contract(text, near_year=near_year)
    return Label(main=str(MainSymbol(contract.variety)), contract=text)


def name_label(path: Path) -> tuple[Label, date | None]:
    """The symbol and the trading day a file's name claims (either may be absent)."""
    name = path.name
    label = Label()
    m = _MAIN_TOKEN.search(name)
    c = _CONTRACT_TOKEN.search(name)
    try:
        if m is not None:
            label = Label(main=str(parse_main(m.group(0))))
        if c is not None:
            found = _label_of(c.group(0))
            if label.main is None or label.main == found.main:
                label = Label(main=found.main, contract=found.contract)
    except SymbolError:
        label = Label()
    named: date | None = None
    for d in _DATE_TOKEN.finditer(name):
        try:
            named = date(int(d.group(1)), int(d.group(2)), int(d.group(3)))
            break
        except ValueError:
            continue
    return label, named


def _read_raw(path: Path) -> pd.DataFrame:
    """Read a file as it is; a truncated CSV (last line cut off) is refused."""
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".csv.gz") else path.suffix
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix == ".csv":
            _check_csv_complete(path)
        return pd.read_csv(path, na_values=DOWNLOADER_NA, low_memory=False)
    except ReplayFileError:
        raise
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ReplayFileError(f"cannot read: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # pyarrow's errors are not all ValueError/OSError
        raise ReplayFileError(f"cannot read: {type(exc).__name__}: {exc}") from None


def _check_csv_complete(path: Path) -> None:
    with path.open("rb") as fh:
        header = fh.readline()
        fh.seek(0, 2)
        size = fh.tell()
        if size == 0:
            raise ReplayFileError("empty file")
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    if tail.endswith(b"\n"):
        return
    last = tail.rsplit(b"\n", 1)[-1]
    if last.count(b",") < header.count(b","):
        raise ReplayFileError(
            f"truncated: the last line has {last.count(b',') + 1} of "
            f"{header.count(b',') + 1} fields and no line end"
        )


def to_tick_frame(raw: pd.DataFrame) -> tuple[pd.DataFrame, Label, list[str]]:
    """Bring either layout to tick-schema column names; return the frame, the content's
    symbol label and notes. Raises ReplayFileError for a file that is not a tick file."""
    notes: list[str] = []
    cols = [str(c) for c in raw.columns]
    if "datetime_nano" in cols:  # DataDownloader layout
        prefixed = [c for c in cols if c not in ("datetime", "datetime_nano")]
        symbols = list(dict.fromkeys(c.rsplit(".", 1)[0] for c in prefixed))
        if not symbols:
            raise ReplayFileError("DataDownloader layout without symbol columns")
        first = symbols[0]
        if len(symbols) > 1:
            notes.append(f"DataDownloader file with {len(symbols)} symbols: only {first} used")
        frame = pd.DataFrame(
            {c.rsplit(".", 1)[1]: raw[c] for c in prefixed if c.rsplit(".", 1)[0] == first}
        )
        if "last_price" not in frame.columns:
            raise ReplayFileError(f"not a tick file: no {first}.last_price column (klines?)")
        frame.insert(0, "datetime", raw["datetime_nano"])
        try:
            label = _label_of(first)
        except SymbolError as exc:
            raise ReplayFileError(f"unknown symbol in column names: {exc}") from None
        return frame, label, notes
    if "datetime" not in cols:
        raise ReplayFileError(f"not a tick file: no 'datetime' column (columns: {cols[:8]})")
    if "last_price" not in cols:
        raise ReplayFileError("not a tick file: no 'last_price' column")
    label = Label()
    try:
        if "contract" in cols:
            found = _unique(raw["contract"], "contract")
            if found:
                label = _label_of(found)
        if "symbol" in cols:
            sym = _unique(raw["symbol"], "symbol")
            if sym:
                sym_label = _label_of(sym)
                label = Label(main=sym_label.main, contract=label.contract or sym_label.contract)
    except SymbolError as exc:
        raise ReplayFileError(f"unknown symbol in the file: {exc}") from None
    return raw, label, notes


def _unique(values: pd.Series, what: str) -> str | None:
    found = [str(v) for v in pd.unique(values.dropna())]
    if len(found) > 1:
        raise ReplayFileError(f"several values in column {what!r}: {found[:4]}")
    return found[0] if found else None


def _datetimes(frame: pd.DataFrame) -> np.ndarray:
    dt = frame["datetime"]
    if not pd.api.types.is_integer_dtype(dt):
        parsed = pd.to_numeric(dt, errors="coerce")
        if parsed.isna().any():
            bad = int(parsed.isna().sum())
            raise ReplayFileError(f"{bad} rows without a valid 'datetime' (ns since the epoch)")
        dt = parsed
    return dt.to_numpy(dtype="int64")


def _merge_labels(name: Label, content: Label) -> Label:
    if name.main and content.main and name.main != content.main:
        raise ReplayFileError(
            f"mislabelled: the file name says {name.contract or name.main}, "
            f"its ticks are {content.contract or content.main}"
        )
    if name.contract and content.contract and name.contract != content.contract:
        raise ReplayFileError(
            f"mislabelled: the file name says {name.contract}, its ticks are {content.contract}"
        )
    return Label(main=content.main or name.main, contract=content.contract or name.contract)


class ReplaySource:
    """Reads the files of one directory. The index (symbol-day -> files) is built on first
    use and topped up when a day is asked for that it does not hold (thread-safe)."""

    name = "replay"

    def __init__(self, calendar: TradingCalendar, config: ReplayConfig) -> None:
        self.calendar = calendar
        self.config = config
        self._lock = threading.Lock()
        self._index: dict[tuple[str, date], list[ReplayFile]] | None = None
        self._entries: dict[Path, ReplayFile] = {}
        self._seen: dict[Path, tuple[float, int]] = {}
        self.unplaced: list[ReplayFile] = []  # files whose symbol or days cannot be told

    # -- indexing ---------------------------------------------------------------------
    def files(self) -> list[Path]:
        root = self.config.directory
        if not root.is_dir():
            raise PermanentError(f"replay directory {root} does not exist")
        pattern = "**/*" if self.config.recursive else "*"
        return sorted(p for p in root.glob(pattern) if p.is_file() and p.name.endswith(SUFFIXES))

    def _inspect(self, path: Path) -> ReplayFile:
        label, named_day = name_label(path)
        entry = ReplayFile(path, label, named_day)
        try:
            frame, content, _ = to_tick_frame(_read_raw(path))
            entry.label = _merge_labels(label, content)
            ns = _datetimes(frame)
            days = sorted({d.item() for d in np.unique(self.calendar.trading_days_of(ns))})
            entry.days = tuple(days)
            if named_day is not None and days and days != [named_day]:
                shown = ", ".join(str(d) for d in days[:3])
                raise ReplayFileError(
                    f"mislabelled: the file name says trading day {named_day}, "
                    f"its ticks belong to {shown}"
                )
            if not days:
                raise ReplayFileError("no ticks in the file")
        except ReplayFileError as exc:
            entry.problem = str(exc)
            entry.days = (named_day,) if named_day else entry.days
        return entry

    def index(self, *, refresh: bool = False) -> dict[tuple[str, date], list[ReplayFile]]:
        """Symbol-day -> files. Built on first use; ``refresh`` re-scans the directory and
        inspects only files that are new or changed (a long-running daemon sees new exports)."""
        with self._lock:
            if self._index is not None and not refresh:
                return self._index
            seen: dict[Path, tuple[float, int]] = {}
            for path in self.files():
                st = path.stat()
                seen[path] = (st.st_mtime, st.st_size)
            if self._index is not None and seen == self._seen:
                return self._index
            for path, stamp in seen.items():
                if self._seen.get(path) != stamp:
                    self._entries[path] = self._inspect(path)
            self._entries = {p: e for p, e in self._entries.items() if p in seen}
            self._seen = seen
            index: dict[tuple[str, date], list[ReplayFile]] = {}
            unplaced: list[ReplayFile] = []
            for path in sorted(self._entries):
                entry = self._entries[path]
                if entry.main is None or not entry.days:
                    unplaced.append(entry)
                    continue
                for day in entry.days:
                    index.setdefault((entry.main, day), []).append(entry)
            for entry in unplaced:
                if entry not in self.unplaced:
                    log.warning(
                        "replay file skipped: %s: %s",
                        entry.path,
                        entry.problem or "neither its name nor its content names a symbol",
                    )
            self.unplaced = unplaced
            self._index = index
            return index

    def days(self) -> list[tuple[str, date]]:
        """Every symbol-day the directory holds (problems included), sorted."""
        return sorted(self.index())

    # -- TickSource -------------------------------------------------------------------
    def fetch_day(self, symbol: MainSymbol, trading_day: date) -> DayFrame:
        key = (str(symbol), trading_day)
        entries = self.index().get(key) or self.index(refresh=True).get(key)
        if not entries:
            raise PermanentError(
                f"no replay file holds {symbol} on {trading_day} in {self.config.directory}"
            )
        for entry in entries:
            if entry.problem:
                raise PermanentError(f"replay file {entry.path}: {entry.problem}")
        contracts = sorted({e.label.contract or str(symbol) for e in entries})
        if len(contracts) > 1:
            names = ", ".join(e.path.name for e in entries)
            raise PermanentError(
                f"ambiguous: {len(contracts)} contracts ({', '.join(contracts)}) for "
                f"{symbol} on {trading_day} in {names}; keep one contract per main-symbol day"
            )
        frames: list[pd.DataFrame] = []
        notes: list[str] = []
        for entry in entries:
            try:
                frame, _, file_notes = to_tick_frame(_read_raw(entry.path))
                ns = _datetimes(frame)
            except ReplayFileError as exc:  # changed since it was indexed
                raise PermanentError(f"replay file {entry.path}: {exc}") from None
            notes += [f"{entry.path.name}: {n}" for n in file_notes]
            mask = self.calendar.trading_days_of(ns) == np.datetime64(trading_day, "D")
            part = frame.loc[mask, [c for c in frame.columns if c in SOURCE_COLUMNS]]
            part = part.assign(datetime=ns[mask])
            frames.append(part)
        merged = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if len(frames) > 1:
            before = len(merged)
            merged = merged.drop_duplicates(ignore_index=True)
            if len(merged) < before:
                notes.append(f"{before - len(merged)} duplicate rows across files dropped")
        merged = merged.sort_values(
            ["datetime", *(["id"] if "id" in merged.columns else [])], kind="stable"
        ).reset_index(drop=True)
        try:
            ticks, norm_notes = normalize(
                merged, symbol=str(symbol), contract=contracts[0], trading_day=trading_day
            )
        except TickSchemaError as exc:
            raise PermanentError(f"replay {symbol} {trading_day}: {exc}") from None
        return DayFrame(str(symbol), trading_day, contracts[0], ticks, (*notes, *norm_notes))

    def close(self) -> None:
        return None


from ghtrader_core.sources.replay.export import (  # noqa: E402  (kept importable here)
    export_day,
    export_days,
    export_name,
)

__all__ = [
    "ReplayConfig",
    "ReplayFile",
    "ReplayFileError",
    "ReplaySource",
    "export_day",
    "export_days",
    "export_name",
    "name_label",
    "to_tick_frame",
]
