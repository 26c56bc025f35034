"""``ghtraderd export``: the dataset, its readers, the manifest, incrementality, round trip.

The round trip is the real chain: the pipeline fills a store, ``ghtraderd export`` writes
files, ``ghtraderd backfill`` with the replay source reads them into a second store, and
every row of every day must come back identical (ids, nanosecond timestamps, NaN levels).
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import anyio
import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

from daemon.commands.export import export_range
from daemon.config import load_config
from daemon.planner import PlanError
from ghtrader_core.records import Checkpoint
from ghtrader_core.store.base import DayWrite
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.ticks import DayFrame, fingerprint
from tests.clock_helpers import ManualClock
from tests.pipeline_helpers import run_cli, small_config
from tests.test_read_api import ALL, CU, END, IF, ROLL, START, fail_day, fill
from tests.typing_helpers import float_at

DAYS = 5


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill(tmp_path_factory.mktemp("export"))


@pytest.fixture
def config(filled: Path, tmp_path: Path) -> Path:
    """A config on a private copy of the filled store."""
    shutil.copy(filled.parent / "store.duckdb", tmp_path / "store.duckdb")
    text = filled.read_text().replace(str(filled.parent / "store.duckdb"),
                                      str(tmp_path / "store.duckdb"))
    path = tmp_path / "ghtraderd.toml"
    path.write_text(text)
    return path


def export(config: Path, out: Path, *extra: str) -> dict[str, object]:
    done = run_cli("export", "-c", str(config), "--out", str(out), "--json", *extra)
    assert done.returncode == 0, done.stderr
    summary: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def store_days(path: Path) -> dict[tuple[str, date], pd.DataFrame]:
    async def read() -> dict[tuple[str, date], pd.DataFrame]:
        store = DuckDBStore(path)
        await store.open()
        try:
            cps = await store.checkpoints([CU, IF], START, END)
            return {key: await store.read_day(*key) for key in sorted(cps)}
        finally:
            await store.close()

    return anyio.run(read)


def replay_config(tmp_path: Path, directory: Path) -> Path:
    path = tmp_path / "replay.toml"
    path.write_text(
        f"""
[store]
path = "{tmp_path / 'replayed.duckdb'}"
[source]
kind = "replay"
[source.replay]
path = "{directory}"
[ingest]
symbols = ["{CU}", "{IF}"]
start = {START}
end = {END}
"""
    )
    return path


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_export_replays_into_the_same_store_rows(
    config: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out"
    summary = export(config, out, "--format", fmt, "--statuses", ",".join(ALL))
    assert summary["days_written"] == 2 * DAYS
    done = run_cli("backfill", "-c", str(replay_config(tmp_path, out)), "--json")
    assert done.returncode == 0, done.stderr
    original = store_days(tmp_path / "store.duckdb")
    replayed = store_days(tmp_path / "replayed.duckdb")
    assert list(replayed) == list(original) and len(original) == 2 * DAYS
    for key, frame in original.items():
        pd.testing.assert_frame_equal(replayed[key], frame, check_exact=True, obj=str(key))
    manifest = json.loads((out / "_manifest.json").read_text())
    assert {(d["symbol"], d["trading_day"]): d["fingerprint"] for d in manifest["days"]} == {
        (s, d.isoformat()): fingerprint(f) for (s, d), f in original.items()
    }


def test_the_dataset_is_read_directly_by_common_tools(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(config, out, "--statuses", ",".join(ALL))
    original = store_days(tmp_path / "store.duckdb")
    rows = sum(len(f) for f in original.values())
    frame = pd.read_parquet(out)  # pandas on the directory: hive partitions become columns
    assert len(frame) == rows and {"symbol", "trading_day", "contract"} <= set(frame.columns)
    cu_roll = frame[(frame["symbol"] == CU) & (frame["trading_day"] == ROLL.isoformat())]
    assert cu_roll["datetime"].tolist() == original[(CU, ROLL)]["datetime"].tolist()
    assert ds.dataset(out, format="parquet", partitioning="hive").count_rows() == rows
    got = duckdb.execute(
        f"SELECT symbol, trading_day, count(*) FROM read_parquet('{out}/**/*.parquet', "
        "hive_partitioning = true) GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert got == [(s, d, len(f)) for (s, d), f in original.items()]
    pl = pytest.importorskip("polars")
    lazy = pl.scan_parquet(str(out / "**" / "*.parquet"), hive_partitioning=True)
    assert lazy.select(pl.len()).collect().item() == rows


def _rewrite_day(store_path: Path, symbol: str, day: date) -> None:
    """Change one tick of a stored day the way a re-download would (ticks + checkpoint)."""

    async def go() -> None:
        store = DuckDBStore(store_path)
        await store.open()
        try:
            ticks = await store.read_day(symbol, day)
            ticks.loc[10, "last_price"] = float_at(ticks, 10, "last_price") + 10.0
            old = (await store.checkpoints([symbol], day, day))[(symbol, day)]
            new = fingerprint(ticks)
            await store.write_days([DayWrite(DayFrame(symbol, day, old.contract, ticks), new)])
            await store.write_checkpoints(
                [Checkpoint(symbol, day, old.contract, len(ticks), new, old.validator_version,
                            old.status, old.written_at)],
                [],
            )
        finally:
            await store.close()

    anyio.run(go)


def test_a_second_export_writes_only_changed_days(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = export(config, out, "--symbols", CU)
    assert (first["days_written"], first["days_unchanged"]) == (DAYS, 0)
    files = {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")}
    again = export(config, out, "--symbols", CU)
    assert (again["days_written"], again["days_unchanged"], again["rows_written"]) == (0, DAYS, 0)
    changed = date(2025, 11, 14)
    _rewrite_day(tmp_path / "store.duckdb", CU, changed)
    third = export(config, out, "--symbols", CU)
    assert (third["days_written"], third["days_unchanged"]) == (1, DAYS - 1)
    rewritten = [p for p in out.rglob("*.parquet") if p.stat().st_mtime_ns != files[p]]
    assert [p.parent.name for p in rewritten] == [f"trading_day={changed}"]
    assert pd.read_parquet(rewritten[0])["last_price"].tolist() == (
        store_days(tmp_path / "store.duckdb")[(CU, changed)]["last_price"].tolist()
    )


def test_a_day_that_turns_bad_leaves_the_export(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(config, out, "--symbols", CU)
    bad = date(2025, 11, 13)

    async def mark() -> None:
        store = DuckDBStore(tmp_path / "store.duckdb")
        await store.open()
        try:
            await fail_day(store, CU, bad)
        finally:
            await store.close()

    anyio.run(mark)
    summary = export(config, out, "--symbols", CU)
    assert (summary["days_removed"], summary["days_unchanged"]) == (1, DAYS - 1)
    assert [e["trading_day"] for e in summary["excluded"]] == [bad.isoformat()]  # type: ignore[attr-defined, index]
    assert not (out / f"symbol={CU}" / f"trading_day={bad}").exists()
    manifest = json.loads((out / "_manifest.json").read_text())
    assert bad.isoformat() not in {d["trading_day"] for d in manifest["days"]}


def test_errors_are_one_line_with_their_exit_code(config: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cases = [
        (["--out", str(blocker / "x")], 73, "cannot create the export directory"),
        (["--out", str(tmp_path / "o"), "--symbols", "SHFE-cu"], 2, "SHFE-cu"),
        (["--out", str(tmp_path / "o"), "--start", "2025-11-18", "--end", "2025-11-12"], 2,
         "after"),
    ]
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / f"symbol={CU}").write_text("a file where a partition goes")
    cases.append((["--out", str(blocked), "--symbols", CU], 73, "cannot write"))
    for extra, code, text in cases:
        done = run_cli("export", "-c", str(config), *extra)
        assert done.returncode == code, (extra, done.stderr)
        assert text in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    done = run_cli("export", "-c", str(config), "--out", str(tmp_path / "o"), "--statuses", "x")
    assert done.returncode == 2 and "statuses" in done.stderr


def test_the_default_end_is_the_clocks_date_in_beijing(tmp_path: Path) -> None:
    path = small_config(tmp_path)
    cfg = load_config(path)
    path.write_text(path.read_text().replace("end = 2025-11-05\n", ""))
    open_ended = load_config(path)
    assert open_ended.ingest.end is None
    none = argparse.Namespace(start=None, end=None)
    # 17:00 UTC on Friday the 7th is Saturday the 8th in Beijing
    clock = ManualClock(datetime(2025, 11, 7, 17, 0, tzinfo=UTC))
    assert export_range(none, open_ended, clock) == (date(2025, 11, 3), date(2025, 11, 8))
    assert export_range(none, cfg, clock) == (date(2025, 11, 3), date(2025, 11, 5))
    given = argparse.Namespace(start=date(2025, 11, 4), end=date(2025, 11, 4))
    assert export_range(given, open_ended, clock) == (date(2025, 11, 4), date(2025, 11, 4))
    early = ManualClock(datetime(2025, 11, 2, 3, 0, tzinfo=UTC))  # before ingest.start
    with pytest.raises(PlanError, match="after --end 2025-11-02"):
        export_range(none, open_ended, early)
