"""The replay source: real exported files, round trips, corrupt and mixed directories."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from daemon.config import Config, ConfigError, load_config
from daemon.factory import build_source
from daemon.pipeline import Summary, backfill
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.errors import PermanentError
from ghtrader_core.sources.replay.source import (
    ReplayConfig,
    ReplaySource,
    export_day,
    name_label,
)
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.symbols import parse_main
from ghtrader_core.ticks import SOURCE_COLUMNS, DayFrame
from tests.pipeline_helpers import run_cli, synthetic
from tests.sources_helpers import CU_FILES, REAL_TICKS, as_read_frame, real_cu_frame

CAL = TradingCalendar()
CU = parse_main("KQ.m@SHFE.cu")
M = parse_main("KQ.m@DCE.m")
D12, D16 = date(2019, 9, 12), date(2019, 9, 16)
NOV = [date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 5)]


def replay_config(
    tmp_path: Path, directory: Path, start: str, end: str, symbols: tuple[str, ...] = (str(CU),)
) -> Config:
    sym = ", ".join(f'"{s}"' for s in symbols)
    path = tmp_path / "replay.toml"
    path.write_text(
        f"""
[store]
path = "{tmp_path / "replay.duckdb"}"
[source]
kind = "replay"
[source.replay]
path = "{directory}"
[ingest]
symbols = [{sym}]
start = {start}
end = {end}
[download]
retry_attempts = 1
retry_base_s = 0.0
retry_max_s = 0.0
"""
    )
    return load_config(path)


async def run_replay(cfg: Config) -> tuple[DuckDBStore, Summary]:
    store = DuckDBStore(cfg.store.path)
    await store.open()
    source = build_source(cfg, CAL)
    summary = await backfill(cfg, store, source, CAL)
    source.close()
    return store, summary


# -- the real files ------------------------------------------------------------------------
def test_file_names_map_to_symbol_and_day() -> None:
    label, day = name_label(CU_FILES[D12])
    assert (label.main, label.contract, day) == (str(CU), "SHFE.cu1909", D12)
    label, day = name_label(Path("KQ.m@DCE.m_DCE.m2601_2025-11-04.parquet"))
    assert (label.main, label.contract, day) == (str(M), "DCE.m2601", NOV[1])
    label, day = name_label(Path("ticks.csv"))
    assert (label.main, day) == (None, None)


async def test_real_cu1909_files_ingest_end_to_end(tmp_path: Path) -> None:
    cfg = replay_config(tmp_path, REAL_TICKS, "2019-09-12", "2019-09-16")  # files as they are
    store, summary = await run_replay(cfg)
    assert (summary.downloaded, summary.failed, summary.rows) == (2, 0, 400)
    for day in (D12, D16):
        stored = await store.read_day(str(CU), day)
        served = real_cu_frame(day)
        for col in SOURCE_COLUMNS:
            np.testing.assert_array_equal(stored[col].to_numpy(), served[col].to_numpy(), col)
        assert set(stored["contract"]) == {"SHFE.cu1909"}
    await store.close()


VNPY_HEAD = (  # the first lines of the real vn.py export beside the cu1909 files
    "symbol,date,time,lastPrice,lastVolume,bidPrice1,askPrice1,bidVolume1,askVolume1\n"
    "RM705,20170320,09:00:00.5,2374.0,0.0,2372.0,2374.0,264.0,65.0\n"
)


def test_real_files_through_the_cli(tmp_path: Path) -> None:
    cfg_path = tmp_path / "replay.toml"
    files = tmp_path / "real"
    shutil.copytree(REAL_TICKS, files)
    (files / "vnpy_RM705-2017-03-20.csv").write_text(VNPY_HEAD)
    replay_config(tmp_path, files, "2019-09-12", "2019-09-16")
    done = run_cli("backfill", "-c", str(cfg_path), "--json")
    assert done.returncode == 0, done.stderr
    assert '"downloaded": 2' in done.stdout and '"rows": 400' in done.stdout
    assert "vnpy_RM705-2017-03-20.csv" in done.stderr  # the vn.py file: told, skipped


# -- round trip ----------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
async def test_round_trip_of_files_written_by_the_project(tmp_path: Path, fmt: str) -> None:
    src = synthetic(CAL, seed=5)
    export = tmp_path / "export"
    originals: dict[tuple[str, date], DayFrame] = {}
    for main in (CU, M):
        for day in NOV:
            frame = src.fetch_day(main, day)
            originals[(str(main), day)] = frame
            export_day(frame, export, fmt=fmt)
    cfg = replay_config(tmp_path, export, "2025-11-03", "2025-11-05", (str(CU), str(M)))
    store, summary = await run_replay(cfg)
    assert summary.failed == 0 and summary.downloaded == 6
    for (symbol, day), original in originals.items():
        stored = await store.read_day(symbol, day)
        expected = original.ticks.sort_values(["datetime", "id"]).reset_index(drop=True)
        expected = as_read_frame(expected)  # a read gives keys as text and dates
        pd.testing.assert_frame_equal(stored, expected, check_dtype=False)
    await store.close()


# -- corrupt, truncated, mislabelled; mixed directories ----------------------------------
def write_tick_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def downloader_csv(frame: pd.DataFrame, contract: str, path: Path) -> Path:
    """The layout of tqsdk.tools.DataDownloader: text datetime, datetime_nano, prefixed cols."""
    out = pd.DataFrame(
        {
            "datetime": pd.to_datetime(frame["datetime"], utc=True)
            .dt.tz_convert("Asia/Shanghai")
            .dt.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "datetime_nano": frame["datetime"],
        }
    )
    for col in SOURCE_COLUMNS[2:]:
        out[f"{contract}.{col}"] = frame[col]
    out.to_csv(path, index=False, na_rep="#N/A")
    return path


async def test_corrupt_files_fail_their_day_and_the_rest_ingests(tmp_path: Path) -> None:
    src = synthetic(CAL, seed=1)
    d = tmp_path / "mixed"
    (d / "nested").mkdir(parents=True)
    good = [src.fetch_day(M, day) for day in NOV]
    export_day(good[0], d, fmt="parquet")  # 11-03: parquet
    downloader_csv(good[1].ticks, good[1].contract, d / "nested" / f"{good[1].contract}.csv")
    # 11-05 as a plain tick-schema CSV named by contract and day, then truncated mid-line
    truncated = write_tick_csv(good[2].ticks, d / f"{good[2].contract}_20251105.csv")
    text = truncated.read_bytes()
    truncated.write_bytes(text[: len(text) - 40])
    # real cu1909 file, mislabelled: named for 2019-09-16, holds 2019-09-12
    shutil.copy(CU_FILES[D12], d / "tqsdk_SHFE.cu1909_L5_20190916_200ticks.csv")
    (d / "KQ.m@SHFE.cu_SHFE.cu1909_20190912.parquet").write_bytes(b"PAR1 not really")
    (d / "notes.csv").write_text("a,b\n1,2\n")  # no symbol, not ticks: told and skipped
    (d / "README.txt").write_text("ignored: not .csv/.parquet")

    source = ReplaySource(CAL, ReplayConfig(d))
    assert source.fetch_day(M, NOV[0]).rows == good[0].rows
    day1 = source.fetch_day(M, NOV[1])
    np.testing.assert_array_equal(day1.ticks["datetime"], good[1].ticks["datetime"])
    np.testing.assert_array_equal(day1.ticks["bid_price1"], good[1].ticks["bid_price1"])
    assert (day1.ticks["id"] == -1).all() and any("id" in n for n in day1.notes)
    with pytest.raises(PermanentError, match=r"_20251105\.csv: truncated"):
        source.fetch_day(M, NOV[2])
    with pytest.raises(PermanentError, match=r"mislabelled.*2019-09-16.*2019-09-12"):
        source.fetch_day(CU, D16)
    with pytest.raises(PermanentError, match=r"SHFE.cu1909_20190912\.parquet: cannot read"):
        source.fetch_day(CU, D12)
    assert [e.path.name for e in source.unplaced] == ["notes.csv"]

    cfg = replay_config(tmp_path, d, "2025-11-03", "2025-11-05", (str(M),))
    store, summary = await run_replay(cfg)
    assert (summary.downloaded, summary.failed) == (2, 1)
    (failed,) = await store.failed_days()
    assert failed.trading_day == NOV[2] and failed.permanent and "truncated" in failed.reason
    await store.close()


def test_symbol_mislabelled_in_name_and_ambiguous_contracts(tmp_path: Path) -> None:
    frame = pd.read_csv(CU_FILES[D12])
    write_tick_csv(frame, tmp_path / "SHFE.cu1910_20190912.csv")  # content says cu1909
    source = ReplaySource(CAL, ReplayConfig(tmp_path))
    with pytest.raises(PermanentError, match=r"mislabelled.*SHFE\.cu1910.*SHFE\.cu1909"):
        source.fetch_day(CU, D12)

    other = tmp_path / "two"
    other.mkdir()
    write_tick_csv(frame, other / "a.csv")
    write_tick_csv(frame.assign(symbol="SHFE.cu1910"), other / "b.csv")
    with pytest.raises(PermanentError, match="ambiguous: 2 contracts"):
        ReplaySource(CAL, ReplayConfig(other)).fetch_day(CU, D12)


def test_split_files_of_one_day_merge_and_multi_day_files_split(tmp_path: Path) -> None:
    frame = pd.read_csv(CU_FILES[D12])
    write_tick_csv(frame.iloc[:120], tmp_path / "part1.csv")
    write_tick_csv(frame.iloc[100:], tmp_path / "part2.csv")  # 20 rows overlap
    both = pd.concat([pd.read_csv(CU_FILES[D12]), pd.read_csv(CU_FILES[D16])])
    write_tick_csv(both, tmp_path / "sub_both.csv")
    source = ReplaySource(CAL, ReplayConfig(tmp_path))
    day = source.fetch_day(CU, D12)
    assert day.rows == 200 and list(day.ticks["id"]) == list(frame["id"])
    assert any("duplicate rows" in n for n in day.notes)
    assert source.fetch_day(CU, D16).rows == 200
    assert source.days() == [(str(CU), D12), (str(CU), D16)]


def test_files_added_later_are_found(tmp_path: Path) -> None:
    source = ReplaySource(CAL, ReplayConfig(tmp_path))
    shutil.copy(CU_FILES[D12], tmp_path)
    assert source.days() == [(str(CU), D12)]
    shutil.copy(CU_FILES[D16], tmp_path)  # a new export while the daemon runs
    assert source.fetch_day(CU, D16).rows == 200
    assert source.days() == [(str(CU), D12), (str(CU), D16)]


def test_night_ticks_belong_to_the_next_trading_day(tmp_path: Path) -> None:
    monday = date(2025, 11, 3)
    day = synthetic(CAL, seed=2).fetch_day(CU, monday)  # night session: Friday 10-31 evening
    write_tick_csv(day.ticks.drop(columns=["trading_day"]), tmp_path / "cu.csv")
    source = ReplaySource(CAL, ReplayConfig(tmp_path))
    assert source.days() == [(str(CU), monday)]
    assert source.fetch_day(CU, monday).rows == day.rows


def test_missing_directory_and_missing_day_are_permanent(tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="does not exist"):
        ReplaySource(CAL, ReplayConfig(tmp_path / "nope")).fetch_day(CU, D12)
    with pytest.raises(PermanentError, match="no replay file holds"):
        ReplaySource(CAL, ReplayConfig(tmp_path)).fetch_day(CU, D12)


def test_replay_needs_a_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[source]\nkind = "replay"\n[ingest]\nsymbols = ["KQ.m@SHFE.cu"]\nstart = 2019-09-12\n'
    )
    with pytest.raises(ConfigError, match=r"source\.replay\.path"):
        load_config(path)


def test_text_and_overflowing_numbers_in_numeric_columns_are_findings(tmp_path: Path) -> None:
    files = tmp_path / "bad"
    files.mkdir()
    name = CU_FILES[D12].name
    frame = pd.read_csv(CU_FILES[D12], dtype={"last_price": object, "volume": object})
    frame.loc[[5, 6, 7], "last_price"] = "bad"
    frame.loc[9, "volume"] = "9" * 2000  # a number no float64 holds: read as inf
    frame.to_csv(files / name, index=False)
    cfg_path = tmp_path / "replay.toml"
    replay_config(tmp_path, files, "2019-09-12", "2019-09-12")
    done = run_cli("backfill", "-c", str(cfg_path), "--json")
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr  # no stray numpy/pandas warnings
    with duckdb.connect(str(tmp_path / "replay.duckdb"), read_only=True) as con:
        findings = con.execute(
            "SELECT check_name, field, severity, hits FROM validation_findings"
            " WHERE check_name IN ('wrong_dtype', 'non_finite') ORDER BY 1, 2"
        ).fetchall()
    assert findings == [
        ("non_finite", "volume", "error", 1),
        ("wrong_dtype", "last_price", "warn", 3),
    ]
