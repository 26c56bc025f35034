import subprocess
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from daemon.exitcodes import code_for
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.errors import StoreLockedError, StorePathError
from ghtrader_core.records import Checkpoint, FailedDay, IngestRun, RunCounts
from ghtrader_core.sources.synthetic.source import SyntheticConfig, simulate_day
from ghtrader_core.store.base import DayWrite, Store
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.store.rows import RUN_COLUMNS, run_from
from ghtrader_core.symbols import parse_main
from ghtrader_core.ticks import fingerprint
from tests.typing_helpers import int_at

CAL = TradingCalendar()
IF = parse_main("KQ.m@CFFEX.IF")


def day_write(d: date, **cfg: object) -> DayWrite:
    day = simulate_day(SyntheticConfig(**cfg), CAL, IF, d)[0]  # type: ignore[arg-type]
    return DayWrite(day, fingerprint(day.ticks))


async def opened(tmp_path: Path) -> DuckDBStore:
    store = DuckDBStore(tmp_path / "s.duckdb")
    await store.open()
    return store


async def test_satisfies_the_store_protocol(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    assert isinstance(store, Store)
    await store.ping()
    await store.close()


async def test_writing_a_day_twice_keeps_one_copy_of_each_tick(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    w = day_write(date(2025, 11, 3))
    await store.write_days([w])
    await store.write_days([w])
    back = await store.read_day(w.day.symbol, w.day.trading_day)
    assert len(back) == w.day.rows
    assert fingerprint(back) == w.fingerprint
    # a changed re-download replaces the day whole
    changed = day_write(date(2025, 11, 3), seed=99)
    await store.write_days([changed])
    assert fingerprint(await store.read_day(w.day.symbol, w.day.trading_day)) == changed.fingerprint
    assert (await store.table_counts())["ticks"] == w.day.rows
    await store.close()


async def test_ticks_one_nanosecond_apart_stay_distinct(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    w = day_write(date(2025, 11, 3))
    ticks = w.day.ticks.iloc[:2].copy()
    ticks.loc[1, "datetime"] = int_at(ticks, 0, "datetime") + 1
    ticks.loc[1, "id"] = int_at(ticks, 0, "id")
    day = type(w.day)(w.day.symbol, w.day.trading_day, w.day.contract, ticks)
    await store.write_days([DayWrite(day, fingerprint(ticks))])
    back = await store.read_day(day.symbol, day.trading_day)
    assert back["datetime"].diff().iloc[1] == 1 and len(back) == 2
    await store.close()


async def test_checkpoints_coverage_failed_days_and_runs(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    now = datetime(2025, 12, 1, 8)
    cps = [
        Checkpoint("KQ.m@CFFEX.IF", d, "CFFEX.IF2601", 10, "fp", 0, "unvalidated", now)
        for d in (date(2025, 11, 3), date(2025, 11, 5))
    ]
    await store.record_failed([FailedDay("KQ.m@CFFEX.IF", date(2025, 11, 5), "x", False, 3, now)])
    assert len(await store.failed_days()) == 1
    await store.write_checkpoints(cps, [])
    assert await store.failed_days() == []  # a day done is no longer a dead letter
    got = await store.checkpoints(
        ["KQ.m@CFFEX.IF", "KQ.m@DCE.m"], date(2025, 11, 4), date(2025, 11, 30)
    )
    assert list(got) == [("KQ.m@CFFEX.IF", date(2025, 11, 5))]
    (cov,) = await store.coverage()
    assert (cov.first_day, cov.last_day, cov.days_present, cov.rows) == (
        date(2025, 11, 3),
        date(2025, 11, 5),
        2,
        20,
    )
    run = IngestRun("r1", "backfill", now, None, RunCounts(planned=2), "running", "c", "v")
    await store.record_run(run)
    done = replace(run, status="ok", ended_at=now, counts=run.counts.plus(downloaded=2, rows=20))
    await store.record_run(done)
    assert (await store.table_counts())["ingest_runs"] == 1
    stored = await store._run(
        lambda con: con.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM ingest_runs").fetchall()
    )
    assert [run_from(r) for r in stored] == [done]
    await store.close()


async def test_a_second_process_or_handle_on_the_same_file_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    store = await opened(tmp_path)
    code = (
        "import duckdb,sys\ntry:\n duckdb.connect(sys.argv[1])\nexcept duckdb.IOException"
        " as e:\n print('locked' if 'lock' in str(e).lower() else e)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "s.duckdb")],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "locked" in out
    await store.close()
    assert code_for(StoreLockedError("x")) == 75


async def test_unwritable_path_is_a_clear_error(tmp_path: Path, tmpfs: Any) -> None:
    # a read-only file system: honoured by root too, unlike permission bits
    ro = tmpfs(1 << 20)
    subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
    with pytest.raises(StorePathError, match=r"not writable|cannot open|not usable"):
        await DuckDBStore(ro / "sub" / "s.duckdb").open()


async def test_a_path_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorePathError):
        await DuckDBStore(blocker / "s.duckdb").open()


def test_read_day_returns_dates_not_strings(tmp_path: Path) -> None:
    import anyio

    async def go() -> pd.DataFrame:
        store = await opened(tmp_path)
        w = day_write(date(2025, 11, 3))
        await store.write_days([w])
        frame = await store.read_day(w.day.symbol, w.day.trading_day)
        await store.close()
        return frame

    frame = anyio.run(go)
    assert set(frame["trading_day"]) == {date(2025, 11, 3)}


async def test_a_failing_write_leaves_nothing_behind(tmp_path: Path) -> None:
    from ghtrader_core.errors import PermanentError
    from ghtrader_core.store.duckdb.connection import transaction

    store = await opened(tmp_path)
    w = day_write(date(2025, 11, 3))
    await store.write_days([w])

    def half_then_fail(con: duckdb.DuckDBPyConnection) -> None:
        with transaction(con):
            con.execute("DELETE FROM ticks")
            raise RuntimeError("a value the store refuses, say")

    with pytest.raises(PermanentError):  # not the store's fault: about the data
        await store._run(half_then_fail)
    assert (await store.table_counts())["ticks"] == w.day.rows  # the delete was rolled back
    await store.close()
