"""The read API and the export on a real QuestDB: the same answers as on DuckDB.

Both stores are filled by the same pipeline run (synthetic exchange, inline validation);
every frame the API returns from QuestDB must equal the one from DuckDB, except the
run ids and write times of the two runs. The server is the session's
(``tests/questdb_server.py``); the tests drop the store's tables there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from daemon.factory import build_validator
from daemon.pipeline import backfill
from ghtrader_core.read import AsyncReader
from ghtrader_core.read.export import export_dataset
from ghtrader_core.sources.replay.source import ReplayConfig, ReplaySource
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.store.questdb.store import QuestDBStore
from tests.pipeline_helpers import config_obj, small_config, synthetic
from tests.questdb_helpers import drop_all
from tests.questdb_server import Endpoint
from tests.test_read_api import ALL, CAL, CU, END, IF, ROLL, START, fail_day

RUN_COLUMNS = ["run_id", "written_at"]  # differ between the two backfills by design


@pytest.fixture
async def stores(
    tmp_path: Path, questdb: Endpoint
) -> AsyncIterator[tuple[QuestDBStore, DuckDBStore]]:
    await drop_all(questdb)
    cfg = config_obj(small_config(tmp_path, symbols=(CU, IF), start=str(START), end=str(END)))
    quest, duck = QuestDBStore(questdb.settings()), DuckDBStore(tmp_path / "same.duckdb")
    await quest.open()
    await duck.open()
    try:
        for store in (quest, duck):
            summary = await backfill(
                cfg, store, synthetic(CAL, seed=11), CAL, validator=build_validator(cfg, CAL)
            )
            assert summary.failed == 0
        yield quest, duck
    finally:
        await quest.close()
        await duck.close()


async def test_the_api_answers_the_same_on_both_stores(
    stores: tuple[QuestDBStore, DuckDBStore],
) -> None:
    quest, duck = (AsyncReader(s) for s in stores)
    for symbol in (CU, IF):
        q, d = (
            await quest.ticks(symbol, START, END, statuses=ALL),
            await duck.ticks(symbol, START, END, statuses=ALL),
        )
        assert len(q) > 0
        pd.testing.assert_frame_equal(q, d, check_exact=True)
        q_days = (await quest.days(symbol, START, END)).drop(columns=RUN_COLUMNS)
        d_days = (await duck.days(symbol, START, END)).drop(columns=RUN_COLUMNS)
        pd.testing.assert_frame_equal(q_days, d_days, check_dtype=False)
        for every in ("1d", "session", "1min"):
            pd.testing.assert_frame_equal(
                await quest.bars(symbol, START, END, every=every, statuses=ALL),
                await duck.bars(symbol, START, END, every=every, statuses=ALL),
                check_dtype=False,
                obj=f"{symbol} {every}",
            )
    cu = await quest.ticks(CU, START, END, columns=["last_price"], statuses=ALL)
    firsts = cu.drop_duplicates("trading_day").set_index("trading_day")["segment"]
    assert next(d for d in firsts.index if firsts[d] != firsts.iloc[0]) == ROLL
    parts = [f async for f in quest.iter_ticks(CU, START, END, statuses=ALL)]
    pd.testing.assert_frame_equal(
        pd.concat(parts, ignore_index=True), await quest.ticks(CU, START, END, statuses=ALL)
    )


async def test_status_filter_on_questdb(stores: tuple[QuestDBStore, DuckDBStore]) -> None:
    quest_store, _ = stores
    bad = date(2025, 11, 13)
    await fail_day(quest_store, CU, bad)
    reader = AsyncReader(quest_store)
    frame = await reader.ticks(CU, START, END)
    assert bad not in set(frame["trading_day"])
    assert [(e.trading_day, e.status) for e in frame.attrs["excluded"]] == [(bad, "fail")]
    assert "crossed_book" in frame.attrs["excluded"][0].reason
    days = await reader.days(CU, START, END)
    assert days.set_index("trading_day").at[bad, "status"] == "fail"


async def test_export_from_questdb_replays_into_the_same_rows(
    stores: tuple[QuestDBStore, DuckDBStore], tmp_path: Path
) -> None:
    quest, _ = stores
    out = tmp_path / "out"
    summary = await export_dataset(AsyncReader(quest), out, [CU, IF], START, END, statuses=ALL)
    assert summary.days_written == 10
    again = await export_dataset(AsyncReader(quest), out, [CU, IF], START, END, statuses=ALL)
    assert (again.days_written, again.days_unchanged) == (0, 10)
    (tmp_path / "r").mkdir()
    cfg = config_obj(small_config(tmp_path / "r", symbols=(CU, IF), start=str(START), end=str(END)))
    replayed = DuckDBStore(tmp_path / "replayed.duckdb")
    await replayed.open()
    try:
        result = await backfill(cfg, replayed, ReplaySource(CAL, ReplayConfig(out)), CAL)
        assert (result.downloaded, result.failed) == (10, 0)
        for symbol in (CU, IF):
            for day in CAL.trading_days(START, END):
                pd.testing.assert_frame_equal(
                    await replayed.read_day(symbol, day),
                    await quest.read_day(symbol, day),
                    check_exact=True,
                    check_dtype=False,
                )
    finally:
        await replayed.close()
