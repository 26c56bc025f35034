"""Memory bounds that hold by construction, checked without timing: the DuckDB store runs
with the memory limit and thread count of the config; TqSdk worker processes are bounded
in number by the config and the cores."""

from __future__ import annotations

from pathlib import Path

from daemon.config import Config
from daemon.factory import build_store
from ghtrader_core.store.duckdb.store import DuckDBStore


async def test_duckdb_runs_with_the_configured_memory_limit_and_threads(tmp_path: Path) -> None:
    cfg = Config(
        store={"path": tmp_path / "s.duckdb", "duckdb_memory_limit_mb": 300, "duckdb_threads": 3},
        ingest={"symbols": ["KQ.m@SHFE.cu"], "start": "2025-11-03"},
    )
    store = build_store(cfg)
    assert isinstance(store, DuckDBStore)
    await store.open()
    try:
        limit, threads = await store._run(  # the store's own connection
            lambda con: con.execute(
                "SELECT current_setting('memory_limit'), current_setting('threads')"
            ).fetchone()
        )
    finally:
        await store.close()
    assert threads == 3  # not the default (1): the config reached the connection
    assert str(limit).replace(" ", "") in ("300.0MB", "286.1MiB", "300MB")
