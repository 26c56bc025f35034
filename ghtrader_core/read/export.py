"""An incremental, Hive-partitioned export of stored days for notebooks and other machines.

Layout: ``OUT/symbol=KQ.m@SHFE.cu/trading_day=2025-11-03/KQ.m@SHFE.cu_SHFE.cu2601_20251103.parquet``
plus ``OUT/_manifest.json``. Why this shape:

- Hive partitions are what pandas/pyarrow (``read_parquet(OUT)``), DuckDB
  (``read_parquet('OUT/**/*.parquet', hive_partitioning = true)``) and Polars read
  directly; the manifest's leading underscore makes pyarrow's discovery skip it.
- A file holds the tick columns and ``contract`` (``symbol`` and ``trading_day`` are the
  partition values) and is named the way ``ReplaySource`` reads it back, so an export is
  also a replay directory: re-ingesting it re-creates the same store rows.
- The manifest keeps, per day, the store's checkpoint fingerprint and the fingerprint of
  the rows written. A second export compares the checkpoint fingerprints only (no tick is
  read for an unchanged day) and rewrites just the days that changed; days in the range
  that are no longer wanted (no longer stored, or now of an excluded status) are removed.
- Files are written to a dot-named temporary and renamed, the manifest last: a crash
  leaves either the old file or the new one, and at worst re-writes a day next time.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from anyio.streams.memory import MemoryObjectReceiveStream

from ghtrader_core.calendar.clock import SYSTEM_CLOCK, Clock
from ghtrader_core.errors import OutputPathError
from ghtrader_core.read.api import AsyncReader
from ghtrader_core.read.plan import DEFAULT_STATUSES, ExcludedDay
from ghtrader_core.ticks import SOURCE_COLUMNS, fingerprint

MANIFEST = "_manifest.json"
MANIFEST_VERSION = 1
FORMATS = {"parquet": ".parquet", "csv": ".csv"}
FILE_COLUMNS = [*SOURCE_COLUMNS, "contract"]


class ExportPathError(OutputPathError):
    """The output directory cannot be created or written (EX_CANTCREAT)."""


@dataclass
class ExportSummary:
    out: Path
    fmt: str
    days_written: int = 0
    days_unchanged: int = 0
    days_removed: int = 0
    rows_written: int = 0
    excluded: list[ExcludedDay] = field(default_factory=list)
    wall_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "format": self.fmt,
            "days_written": self.days_written,
            "days_unchanged": self.days_unchanged,
            "days_removed": self.days_removed,
            "rows_written": self.rows_written,
            "excluded": [e.as_dict() for e in self.excluded],
            "wall_s": round(self.wall_s, 3),
        }


def partition(symbol: str, trading_day: date) -> str:
    return f"symbol={symbol}/trading_day={trading_day.isoformat()}"


def file_name(symbol: str, contract: str, trading_day: date, fmt: str) -> str:
    """Main symbol, contract and day: the name ``ReplaySource`` maps back to the day."""
    return f"{symbol}_{contract}_{trading_day:%Y%m%d}{FORMATS[fmt]}"


def load_manifest(out: Path) -> dict[str, dict[str, Any]]:
    """The days of an earlier export, keyed ``symbol/trading_day``; empty if none."""
    path = out / MANIFEST
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return {f"{d['symbol']}/{d['trading_day']}": d for d in doc["days"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ExportPathError(
            f"cannot read the export manifest {path}: {exc} (move the directory aside or "
            "export to a new one)"
        ) from exc


def save_manifest(
    out: Path, days: dict[str, dict[str, Any]], *, clock: Clock = SYSTEM_CLOCK
) -> None:
    doc = {
        "manifest_version": MANIFEST_VERSION,
        "layout": "symbol=<main symbol>/trading_day=<YYYY-MM-DD>/<file>",
        "file_columns": FILE_COLUMNS,
        "updated_at": clock.now().isoformat(timespec="seconds"),
        "days": [days[k] for k in sorted(days)],
    }
    _atomic_write(out / MANIFEST, lambda tmp: tmp.write_text(json.dumps(doc, indent=1) + "\n"))


def _atomic_write(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise ExportPathError(f"cannot write {path}: {exc}") from exc


def write_day_file(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    """One day's rows in the file layout (blocking: run in a worker thread)."""
    rows = frame[FILE_COLUMNS]
    if fmt == "parquet":
        table = pa.Table.from_pandas(rows, preserve_index=False)
        _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    else:
        _atomic_write(path, lambda tmp: rows.to_csv(tmp, index=False))


def _remove(out: Path, entry: dict[str, Any]) -> None:
    path = out / entry["path"]
    try:
        path.unlink(missing_ok=True)
        for parent in (path.parent, path.parent.parent):
            if parent != out and not any(parent.iterdir()):
                parent.rmdir()
    except OSError as exc:
        raise ExportPathError(f"cannot remove {path}: {exc}") from exc


@asynccontextmanager
async def _one_error() -> AsyncIterator[None]:
    """The error itself rather than a task group's exception group (callers and the CLI
    see ``ExportPathError``, not a wrapper)."""
    try:
        yield
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from group
        raise


@dataclass(frozen=True)
class _Pending:
    """A day read from the store, waiting for its file."""

    key: str
    old: dict[str, Any] | None
    entry: dict[str, Any]
    frame: pd.DataFrame


def _write_file(pending: _Pending, out: Path) -> str:
    """Write the day's file and return the fingerprint of its rows (worker thread)."""
    write_day_file(pending.frame, out / pending.entry["path"], pending.entry["format"])
    return fingerprint(pending.frame)


async def _write_all(
    receive: MemoryObjectReceiveStream[_Pending],
    out: Path,
    manifest: dict[str, dict[str, Any]],
    summary: ExportSummary,
) -> None:
    async with receive:
        async for pending in receive:
            digest = await anyio.to_thread.run_sync(_write_file, pending, out)
            if pending.old is not None and pending.old["path"] != pending.entry["path"]:
                _remove(out, pending.old)
            manifest[pending.key] = {**pending.entry, "fingerprint": digest}
            summary.days_written += 1
            summary.rows_written += len(pending.frame)


async def export_dataset(
    reader: AsyncReader,
    out: Path,
    symbols: Sequence[str],
    start: date,
    end: date,
    *,
    fmt: str = "parquet",
    statuses: Sequence[str] = DEFAULT_STATUSES,
    clock: Clock = SYSTEM_CLOCK,
) -> ExportSummary:
    """Export the wanted days of ``symbols`` in ``start``..``end``; see the module doc."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, not {fmt!r}")
    began = time.perf_counter()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportPathError(f"cannot create the export directory {out}: {exc}") from exc
    manifest = load_manifest(out)
    summary = ExportSummary(out, fmt)
    for symbol in symbols:
        plan = await reader.plan(symbol, start, end, statuses)
        summary.excluded += plan.excluded
        segment = plan.segment_of()
        wanted: set[str] = set()
        # Reading day n+1 from the store overlaps writing day n (at most two days held).
        send, receive = anyio.create_memory_object_stream[_Pending](1)
        async with _one_error(), anyio.create_task_group() as tg:
            tg.start_soon(_write_all, receive, out, manifest, summary)
            async with send:
                for row in plan.wanted.itertuples(index=False):
                    day: date = row.trading_day  # type: ignore[assignment]
                    key = f"{plan.symbol}/{day.isoformat()}"
                    wanted.add(key)
                    old = manifest.get(key)
                    if (
                        old is not None
                        and old.get("store_fingerprint") == row.fingerprint
                        and old.get("format") == fmt
                        and (out / old["path"]).exists()
                    ):
                        summary.days_unchanged += 1
                        continue
                    frame = await reader.read_day(plan, day)
                    contract = str(row.contract)
                    name = file_name(plan.symbol, contract, day, fmt)
                    entry = {
                        "symbol": plan.symbol,
                        "trading_day": day.isoformat(),
                        "contract": contract,
                        "segment": int(segment[day]),
                        "rows": len(frame),
                        "fingerprint": "",  # of the rows written, set by the writer
                        "store_fingerprint": str(row.fingerprint),
                        "status": str(row.status),
                        "format": fmt,
                        "path": f"{partition(plan.symbol, day)}/{name}",
                    }
                    await send.send(_Pending(key, old, entry, frame))
        for key in [k for k, d in manifest.items() if d["symbol"] == plan.symbol]:
            day = date.fromisoformat(manifest[key]["trading_day"])
            if start <= day <= end and key not in wanted:
                _remove(out, manifest.pop(key))
                summary.days_removed += 1
        save_manifest(out, manifest, clock=clock)
    summary.wall_s = time.perf_counter() - began
    return summary
