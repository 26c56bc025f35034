"""Memory bounds that hold by construction, checked without timing: the DuckDB store runs
with the memory limit and thread count of the config; TqSdk worker processes are bounded
in number by the config and the cores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from daemon.config import Config
from daemon.factory import build_store
from ghtrader_core.store.duckdb.store import DuckDBStore

REPO = Path(__file__).resolve().parents[1]


async def test_duckdb_runs_with_the_configured_memory_limit_and_threads(tmp_path: Path) -> None:
    cfg = Config(
        store={"path": tmp_path / "s.duckdb", "duckdb_memory_limit_mb": 300, "duckdb_threads": 3},
        ingest={"symbols": ["KQ.m@SHFE.cu"], "start": "2025-11-03"},
    )
    store = build_store(cfg)
    assert isinstance(store, DuckDBStore)
    await store.open()
    try:
        limit, threads, temp = await store._run(  # the store's own connection
            lambda con: con.execute(
                "SELECT current_setting('memory_limit'), current_setting('threads'), "
                "current_setting('max_temp_directory_size')"
            ).fetchall()[0]
        )
    finally:
        await store.close()
    assert threads == 3  # not the default (1): the config reached the connection
    assert str(limit).replace(" ", "") in ("300.0MB", "286.1MiB", "300MB")
    # a fixed bound, not 90 % of whatever the disk had free when DuckDB first spilled
    assert str(temp).replace(" ", "") in ("1.0TB", "931.3GiB", "1TB")


async def test_a_store_with_duckdb_defaults_lets_a_plain_connection_share_its_file(
    tmp_path: Path,
) -> None:
    """A researcher's own ``duckdb.connect(path)`` next to the read API in one process:
    DuckDB refuses a second connection to a file opened with a different configuration."""
    store = DuckDBStore(tmp_path / "s.duckdb")
    await store.open()
    try:
        with duckdb.connect(str(tmp_path / "s.duckdb")) as con:
            assert con.execute("SELECT count(*) FROM checkpoints").fetchone() == (0,)
    finally:
        await store.close()


def test_a_duckdb_backfill_never_imports_the_questdb_client(tmp_path: Path) -> None:
    """The config registry loads every backend's model; the QuestDB store's own modules
    (the questdb client, asyncpg: ~14 MB resident) wait until a QuestDB store is built."""
    script = f"""
import asyncio, sys
from daemon.config import Config
from daemon.factory import build_calendar, build_source, build_store
from daemon.pipeline import backfill
cfg = Config(store={{"path": {str(tmp_path / "s.duckdb")!r}}},
             ingest={{"symbols": ["KQ.m@SHFE.cu"], "start": "2025-11-03", "end": "2025-11-04"}})
async def go():
    calendar = build_calendar(cfg)
    store, source = build_store(cfg), build_source(cfg, calendar)
    await store.open()
    try:
        return (await backfill(cfg, store, source, calendar)).downloaded
    finally:
        await store.close()
days = asyncio.run(go())
print(days, sorted({{m.split(".")[0] for m in sys.modules}} & {{"questdb", "asyncpg"}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]  # after the backfill's own log lines
    assert last == "2 []"  # the backfill really ran, without either module
    # and the QuestDB backend still builds its store, importing them then
    from ghtrader_core.store.questdb.backend import QuestDBConfig, questdb_settings

    settings = questdb_settings(QuestDBConfig(), {"QUESTDB_PASSWORD": "x"})
    assert settings.pg.host == "127.0.0.1"
