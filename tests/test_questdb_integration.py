"""The QuestDB store against a real server (QuestDB >= 9.1 for TIMESTAMP_NS).

The server is the session's (``tests/questdb_server.py``: started from the vendored
QuestDB, or yours when ``GHTRADER_TEST_QUESTDB_ILP``/``_PG`` are set). Each test drops
and re-creates the store's tables (ticks, checkpoints, ...) there, so tests do not see
each other's rows: point the variables at a scratch server. No test sleeps: visibility is
the store's own ``wal_tables()`` wait, which is what is being tested.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from daemon.config import SinkConfig
from daemon.events import Observer
from daemon.pipeline import backfill
from daemon.sink import BatchingSink
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.errors import PermanentError
from ghtrader_core.store.base import ValidationWrite
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.store.questdb import schema as schema
from ghtrader_core.store.questdb.ilp import IlpFrame, IlpWriter
from ghtrader_core.store.questdb.store import QuestDBStore
from tests.pipeline_helpers import config_obj, small_config, synthetic
from tests.questdb_helpers import DAY, T0, a_validation, fetch, small_day
from tests.questdb_server import Endpoint
from tests.typing_helpers import float_iat

CAL = TradingCalendar()


async def test_schema_on_an_empty_server(questdb_store: QuestDBStore, questdb: Endpoint) -> None:
    tables = {
        r["table_name"]: r
        for r in await fetch(
            questdb,
            "SELECT table_name, walEnabled, dedup, partitionBy, designatedTimestamp FROM tables()",
        )
    }
    for table in schema.TABLES:
        row = tables[table.name]
        assert row["walEnabled"] and row["dedup"], table.name
        assert row["partitionBy"] == table.partition_by
        assert row["designatedTimestamp"] == table.timestamp
    columns = {
        r["column"]: r
        for r in await fetch(
            questdb, "SELECT \"column\", type, upsertKey FROM table_columns('ticks')"
        )
    }
    assert columns["ts"]["type"] == "TIMESTAMP_NS"
    assert {n for n, r in columns.items() if r["upsertKey"]} == {"ts", "symbol", "id"}
    again = QuestDBStore(questdb.settings())
    await again.open()  # a second start migrates nothing and records no second version
    assert await again.migrate() == []
    await again.close()
    assert [r[0] for r in await fetch(questdb, "SELECT version FROM schema_version")] == [
        schema.QUESTDB_SCHEMA_VERSION
    ]


async def test_resending_a_day_leaves_counts_unchanged(questdb_store: QuestDBStore) -> None:
    day = small_day(datetimes=(T0, T0 + 500_000_000, T0 + 1_000_000_000))
    await questdb_store.write_days([day])
    first = await questdb_store.table_counts()
    await questdb_store.write_days([day])
    await questdb_store.write_days([day])
    assert await questdb_store.table_counts() == first
    assert await questdb_store.day_counts(DAY, DAY) == {(day.day.symbol, DAY): 3}


async def test_ticks_distinct_only_in_ns_or_in_id_are_all_kept(questdb_store: QuestDBStore) -> None:
    day = small_day(datetimes=(T0, T0 + 1, T0 + 1), ids=(1, 2, 3), last_prices=(1.0, 2.0, 3.0))
    await questdb_store.write_days([day])
    frame = await questdb_store.read_day(day.day.symbol, DAY)
    assert list(frame["datetime"]) == [T0, T0 + 1, T0 + 1]  # exact to the nanosecond
    assert list(frame["id"]) == [1, 2, 3]
    assert math.isnan(float_iat(frame["highest"], 0))  # NaN in, NaN out


async def test_rows_are_visible_when_write_days_returns(
    questdb_store: QuestDBStore, questdb: Endpoint
) -> None:
    day = small_day(datetimes=tuple(T0 + i * 500_000_000 for i in range(500)))
    sink = BatchingSink(
        questdb_store, SinkConfig(), Observer(), run_id="it", source_name="test", code_version="0"
    )
    await sink.flush([day])
    # no wait of our own: the checkpoint exists, so the rows must already be readable
    [(count,)] = await fetch(questdb, "SELECT count() FROM ticks WHERE symbol = $1", day.day.symbol)
    checkpoints = await questdb_store.checkpoints([day.day.symbol], DAY, DAY)
    assert count == 500 and checkpoints[(day.day.symbol, DAY)].rows == 500


async def test_a_rejected_row_is_permanent_with_the_servers_message(
    questdb_store: QuestDBStore, questdb: Endpoint
) -> None:
    writer = IlpWriter(questdb.settings().ilp)
    bad = pd.DataFrame(
        {
            "symbol": pd.Categorical(["X"]),
            "id": [1],
            "last_price": ["not a number"],  # a string into a DOUBLE column
            "ts": pd.to_datetime([T0], unit="ns"),
        }
    )
    try:
        with pytest.raises(PermanentError) as caught:
            writer.write_blocking([IlpFrame("ticks", bad, ("symbol",), "ts")])
    finally:
        writer.close()
    assert "last_price" in str(caught.value)


async def test_demo_backfill_coverage_and_ticks_equal_the_embedded_store(
    questdb_store: QuestDBStore, tmp_path: Path
) -> None:
    cfg = config_obj(
        small_config(
            tmp_path,
            symbols=("KQ.m@SHFE.cu", "KQ.m@DCE.m", "KQ.m@CFFEX.IF"),
            start="2025-11-03",
            end="2025-11-07",
        )
    )
    embedded = DuckDBStore(tmp_path / "same.duckdb")
    await embedded.open()
    try:
        quest = await backfill(cfg, questdb_store, synthetic(CAL, seed=11), CAL)
        duck = await backfill(cfg, embedded, synthetic(CAL, seed=11), CAL)
        assert (quest.downloaded, quest.failed, quest.rows) == (duck.downloaded, 0, duck.rows)
        assert await questdb_store.coverage() == await embedded.coverage()
        for symbol in cfg.ingest.symbols:
            pd.testing.assert_frame_equal(
                await questdb_store.read_day(symbol, date(2025, 11, 4)),
                await embedded.read_day(symbol, date(2025, 11, 4)),
                check_dtype=False,  # text columns: str vs object; values and order must match
            )
        again = await backfill(cfg, questdb_store, synthetic(CAL, seed=11), CAL)
        assert (again.downloaded, again.skipped) == (0, duck.downloaded)
    finally:
        await embedded.close()


async def test_re_validation_replaces_findings(questdb_store: QuestDBStore) -> None:
    day = small_day(validation=a_validation(findings=3, gaps=2))
    await questdb_store.write_days([day])
    sink = BatchingSink(
        questdb_store, SinkConfig(), Observer(), run_id="it", source_name="test", code_version="0"
    )
    await sink.flush([day])
    [row] = await questdb_store.validation_rows([day.day.symbol], DAY, DAY)
    assert row.warnings == 3 and row.status == "warn"
    fewer = a_validation(findings=1, gaps=0)
    again = ValidationWrite(day.day.symbol, DAY, day.fingerprint, fewer)
    await questdb_store.write_validations([again])
    [row] = await questdb_store.validation_rows([day.day.symbol], DAY, DAY)
    assert row.warnings == 1 and row.largest_gap_s is None
    assert await questdb_store.largest_gaps([day.day.symbol], DAY, DAY, 5) == []
    due = await questdb_store.validation_due([day.day.symbol], DAY, DAY, fewer.validator_version)
    assert due == []
