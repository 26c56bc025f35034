"""The QuestDB store without a server: protocol, schema migration, visibility before
checkpoints, the sink's retry and isolation through it, row conversion and config.

PGWire is replaced by a scriptable fake answering by statement name and ILP by senders
that fail on cue (``tests/questdb_helpers.py``); everything between them is the real
store, the real ILP buffer and the real sink."""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from daemon.config import SinkConfig
from daemon.events import Observer
from daemon.exitcodes import code_for
from daemon.sink import BatchingSink
from ghtrader_core.errors import RetryableError
from ghtrader_core.records import Checkpoint, IngestRun, RunCounts
from ghtrader_core.store import base
from ghtrader_core.store.questdb import schema as schema
from ghtrader_core.store.questdb.store import QuestDBSchemaError, QuestDBStore
from ghtrader_core.store.questdb.visibility import (
    VisibilityTimeoutError,
    WalState,
    WalTableSuspendedError,
    wait_applied,
)
from ghtrader_core.ticks import DTYPES, TICK_COLUMNS
from tests.questdb_helpers import (
    DAY,
    T0,
    FakePg,
    SenderPool,
    a_validation,
    flush_error,
    make_store,
    no_sleep,
    small_day,
)
from tests.typing_helpers import float_iat

REPO = Path(__file__).resolve().parents[1]


# -- the protocol ------------------------------------------------------------------------


def protocol_methods() -> dict[str, inspect.Signature]:
    """Every method of ``Store``, whichever role protocol declares it."""
    return {name: inspect.signature(getattr(base.Store, name)) for name in base.methods(base.Store)}


def test_every_protocol_method_exists_with_the_same_signature() -> None:
    methods = protocol_methods()
    assert {"open", "write_days", "coverage", "read_day"} <= set(methods)
    for name, expected in methods.items():
        member = getattr(QuestDBStore, name, None)
        assert member is not None, f"QuestDBStore lacks Store.{name}"
        assert inspect.iscoroutinefunction(member), f"QuestDBStore.{name} must be async"
        assert str(inspect.signature(member)) == str(expected), name
    assert isinstance(make_store(FakePg()), base.Store)


# -- schema ------------------------------------------------------------------------------


async def test_open_on_an_empty_server_creates_every_table_and_records_the_version() -> None:
    pg = FakePg()
    store = make_store(pg, opened=False)
    await store.open()
    created = [n for n in pg.names() if n.startswith("create_")]
    assert created == [f"create_{t.name}" for t in schema.TABLES]
    insert = [args for name, args in pg.calls if name == "schema_version_insert"]
    assert insert == [(datetime(2025, 11, 24, 12), schema.QUESTDB_SCHEMA_VERSION)]
    await store.close()
    assert pg.closed


def existing(table: schema.Table, **changes: Any) -> tuple[list[Any], list[Any]]:
    meta = [
        table.name,
        changes.get("wal", True),
        True,
        changes.get("partition", table.partition_by),
        changes.get("timestamp", table.timestamp),
    ]
    drop = changes.get("drop", ())
    types = changes.get("types", {})
    cols = [
        (c.name, types.get(c.name, c.type), c.name in table.keys)
        for c in table.columns
        if c.name not in drop
    ]
    return meta, cols


async def test_migration_adds_missing_columns_and_leaves_complete_tables_alone() -> None:
    metas: list[Sequence[Any]] = []
    answers: dict[str, list[Sequence[Any]]] = {}
    for table in schema.TABLES:
        meta, cols = existing(table, drop=("average",) if table is schema.TICKS else ())
        metas.append(meta)
        answers[table.columns_query.name] = cols
    pg = FakePg(answers={"tables": metas, **answers, "schema_version_max": [(1,)]})
    ran = await make_store(pg).migrate()
    assert ran == ["add_ticks_average"]
    assert "schema_version_insert" not in pg.names()


async def test_conflicting_tables_stop_the_start_with_every_conflict_named() -> None:
    meta, cols = existing(
        schema.TICKS, timestamp="timestamp", partition="HOUR", types={"id": "DOUBLE"}
    )
    cmeta, ccols = existing(schema.CHECKPOINTS, wal=False)
    pg = FakePg(
        answers={
            "tables": [meta, cmeta],
            schema.TICKS.columns_query.name: cols,
            schema.CHECKPOINTS.columns_query.name: ccols,
        }
    )
    with pytest.raises(QuestDBSchemaError) as caught:
        await make_store(pg).migrate()
    text = str(caught.value)
    for part in ("designated timestamp 'timestamp'", "HOUR", "ticks.id is DOUBLE", "not a WAL"):
        assert part in text
    assert not [n for n in pg.names() if n.startswith(("create_", "add_"))]
    assert code_for(caught.value) == 78


async def test_dedup_keys_are_re_enabled_when_they_differ() -> None:
    _, cols = existing(schema.TICKS)
    cols = [(n, t, n == "ts") for n, t, _ in cols]  # only ts is a key on the server
    statements, conflicts = schema.plan_migration(
        schema.TICKS,
        schema.ExistingTable(
            "ticks", True, True, "DAY", "ts", {n: t for n, t, _ in cols}, frozenset({"ts"})
        ),
    )
    assert [s.name for s in statements] == ["dedup_ticks"] and not conflicts


# -- visibility before checkpoint -------------------------------------------------------


async def test_write_days_returns_only_after_questdb_applied_the_rows() -> None:
    pg = FakePg()
    store = make_store(pg, opened=False)
    await store.open()
    pg.calls.clear()
    await store.write_days([small_day()])
    assert pg.names() == ["wal_tables", "wal_tables"]  # target read, then caught up
    assert pg.wal["ticks"][1] == pg.wal["ticks"][2] == 1


async def test_a_suspended_table_is_loud_and_holds_the_checkpoint_until_resumed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pg = FakePg(wal={"ticks": [True, 0, 0]})
    store = make_store(pg)
    sink = BatchingSink(
        store, SinkConfig(), Observer(), run_id="r", source_name="s", code_version="0"
    )
    attempts = 0

    async def operator_resumes_on_third_retry(_: float) -> None:
        nonlocal attempts
        attempts += 1
        assert "checkpoint_insert" not in pg.names()
        if attempts == 3:
            pg.wal["ticks"][0] = False  # ALTER TABLE ticks RESUME WAL

    sink._sleep = operator_resumes_on_third_retry
    await sink.flush([small_day()])
    assert attempts == 3
    # written once, last, after the waits (the sleeps above saw no checkpoint before)
    names = [n for n in pg.names() if n != "wal_tables"]
    assert names[-2:] == ["checkpoint_insert", "manifest_insert"]
    assert names.count("checkpoint_insert") == 1
    assert pg.wal["ticks"][1] == pg.wal["ticks"][2] == 4  # every re-send applied
    assert "failed_insert" not in pg.names()
    assert "SUSPENDED" in caplog.text and "ALTER TABLE ticks RESUME WAL" in caplog.text


async def test_wait_applied_has_a_deadline() -> None:
    now = [0.0]

    async def read() -> dict[str, WalState]:
        return {"ticks": WalState("ticks", False, 3, 5)}

    async def sleep(s: float) -> None:
        now[0] += s

    with pytest.raises(VisibilityTimeoutError, match="writerTxn 3 < 5"):
        await wait_applied(read, ["ticks"], timeout_s=1.0, sleep=sleep, clock=lambda: now[0])
    assert isinstance(VisibilityTimeoutError("x"), RetryableError)
    assert issubclass(WalTableSuspendedError, RetryableError)


async def test_later_writes_by_others_do_not_hold_the_wait() -> None:
    states = iter([(2, 5), (5, 9)])  # the sequencer moved on after our write: 5 is enough

    async def read() -> dict[str, WalState]:
        writer, seq = next(states)
        return {"ticks": WalState("ticks", False, writer, seq)}

    assert await wait_applied(read, ["ticks"], timeout_s=1, sleep=no_sleep) == 2


# -- the sink through the store ---------------------------------------------------------


async def test_transient_flush_errors_are_retried_and_nothing_is_dropped() -> None:
    pg = FakePg()
    pool = SenderPool(
        [flush_error("io: Connection refused", "SocketError")] * 3,
        on_flush=lambda data: pg.committed("ticks"),
    )
    store = make_store(pg, pool)
    sink = BatchingSink(
        store,
        SinkConfig(),
        Observer(),
        run_id="r",
        source_name="s",
        code_version="0",
        sleep=no_sleep,
    )
    days = [small_day(DAY), small_day(date(2025, 11, 4), datetimes=(T0 + 86_400 * 10**9,))]
    await sink.flush(days)
    assert len(pool.flushed) == 1 and len(pool.senders) == 4  # a fresh sender per failure
    [(_, rows)] = [c for c in pg.calls if c[0] == "checkpoint_insert"]
    assert [r[1] for r in rows] == [datetime(2025, 11, 3), datetime(2025, 11, 4)]
    assert "failed_insert" not in pg.names()


async def test_a_rejected_day_is_recorded_with_the_servers_message_and_others_go_on() -> None:
    pg = FakePg()
    message = (
        "Could not flush buffer: http-status=400, error in line 3: table: ticks, "
        "column: contract; symbol value too long"
    )
    pool = SenderPool(
        reject=lambda data: flush_error(message) if b"SHFE.cu2512" in data else None,
        on_flush=lambda data: pg.committed("ticks"),
    )
    store = make_store(pg, pool)
    sink = BatchingSink(
        store, SinkConfig(), Observer(), run_id="r", source_name="s", code_version="0"
    )
    good_a = small_day(DAY)
    bad = small_day(date(2025, 11, 4), contract="SHFE.cu2512", datetimes=(T0 + 86_400 * 10**9,))
    good_b = small_day(date(2025, 11, 5), datetimes=(T0 + 2 * 86_400 * 10**9,))
    await sink.flush([good_b, bad, good_a])
    [(_, failed)] = [c for c in pg.calls if c[0] == "failed_insert"]
    assert failed[0][1] == datetime(2025, 11, 4) and "symbol value too long" in failed[0][2]
    assert failed[0][3] is True  # permanent
    done = [r[1].date() for c in pg.calls if c[0] == "checkpoint_insert" for r in c[1]]
    assert done == [date(2025, 11, 3), date(2025, 11, 5)]


# -- reads -------------------------------------------------------------------------------


async def test_read_day_gives_the_tick_schema_with_ns_and_nan_restored() -> None:
    floats: list[float | None] = [None] * 27
    floats[0] = 1.5
    row = (7, T0 + 1, *floats, "KQ.m@SHFE.cu", "SHFE.cu2601", datetime(2025, 11, 3))
    pg = FakePg(answers={"read_day": [row]})
    store = make_store(pg)
    frame = await store.read_day("KQ.m@SHFE.cu", DAY)
    assert list(frame.columns) == TICK_COLUMNS
    assert frame["datetime"].iat[0] == T0 + 1 and frame["id"].iat[0] == 7
    assert frame["last_price"].iat[0] == 1.5 and math.isnan(float_iat(frame["highest"], 0))
    assert frame["trading_day"].iat[0] == DAY
    for c in ("id", "datetime", "last_price"):
        assert str(frame[c].dtype) == DTYPES[c]
    [(_, args)] = [c for c in pg.calls if c[0] == "read_day"]
    assert args[0] < datetime(2025, 10, 31, 13) and args[1] == datetime(2025, 11, 4)  # Fri night
    assert args[2:] == ("KQ.m@SHFE.cu", datetime(2025, 11, 3))


async def test_coverage_is_one_query_for_all_symbols() -> None:
    pg = FakePg(
        answers={
            "coverage": [
                (
                    "KQ.m@DCE.m",
                    datetime(2025, 11, 3),
                    datetime(2025, 11, 4),
                    2,
                    10,
                    "2025-11-04,2025-11-03",
                ),
                (
                    "KQ.m@SHFE.cu",
                    datetime(2025, 11, 3),
                    datetime(2025, 11, 3),
                    1,
                    None,
                    "2025-11-03",
                ),
            ]
        }
    )
    store = make_store(pg)
    rows = await store.coverage()
    assert pg.names() == ["coverage"]
    assert rows[0].days == (date(2025, 11, 3), date(2025, 11, 4)) and rows[0].rows == 10
    assert rows[1].rows == 0 and rows[1].first_day == DAY


async def test_checkpoints_filter_symbols_and_bookkeeping_uses_naive_utc() -> None:
    written = datetime(2025, 11, 24, 1)
    cu = "KQ.m@SHFE.cu"
    pg = FakePg(
        answers={
            "checkpoints_in_range": [
                (cu, datetime(2025, 11, 3), "SHFE.cu2601", 2, "2:ab", 3, "ok", written, "replay"),
                (
                    "KQ.m@DCE.m",
                    datetime(2025, 11, 3),
                    "DCE.m2601",
                    2,
                    "2:cd",
                    3,
                    "ok",
                    written,
                    "x",
                ),
                # written before checkpoints recorded their source: the manifest names it
                (cu, datetime(2025, 11, 4), "SHFE.cu2601", 2, "2:ef", 3, "ok", written, None),
            ],
            "manifest_sources": [
                ("KQ.m@SHFE.cu", datetime(2025, 11, 4), "2:00", "tqsdk"),  # another fingerprint
                ("KQ.m@SHFE.cu", datetime(2025, 11, 4), "2:ef", "synthetic"),
            ],
        }
    )
    store = make_store(pg)
    got = await store.checkpoints(["KQ.m@SHFE.cu"], DAY, date(2025, 11, 5))
    cp = Checkpoint("KQ.m@SHFE.cu", DAY, "SHFE.cu2601", 2, "2:ab", 3, "ok", written, "replay")
    old = Checkpoint(
        "KQ.m@SHFE.cu", date(2025, 11, 4), "SHFE.cu2601", 2, "2:ef", 3, "ok", written, "synthetic"
    )
    assert got == {("KQ.m@SHFE.cu", DAY): cp, ("KQ.m@SHFE.cu", date(2025, 11, 4)): old}
    run = IngestRun("r1", "backfill", written, None, RunCounts(1, 1, 0, 0, 2), "running", "h", "0")
    await store.record_run(run)
    [(_, args)] = [c for c in pg.calls if c[0] == "run_insert"]
    assert all(a is None or getattr(a, "tzinfo", None) is None for a in args)


async def test_validation_generation_is_content_addressed() -> None:
    from ghtrader_core.store.questdb.store import generation

    assert generation(a_validation()) == generation(a_validation())
    assert generation(a_validation(findings=2)) != generation(a_validation())
