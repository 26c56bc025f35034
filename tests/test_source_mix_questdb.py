"""One store, one source on QuestDB too: its checkpoints record the source of each day.

A synthetic backfill, then a replay backfill of the same store, against the session's real
server (``tests/questdb_server.py``): the replay is refused with exit 78 and one line,
nothing is written; ``--replace-source`` downloads the days again and records the replay.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import asyncpg

from daemon import exitcodes
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.sources.replay.source import export_days
from ghtrader_core.store.questdb import schema
from ghtrader_core.store.questdb.store import QuestDBStore
from ghtrader_core.symbols import parse_main
from tests.pipeline_helpers import D, run_cli, synthetic
from tests.questdb_helpers import drop_all, env_with_password, fetch, questdb_config
from tests.questdb_server import Endpoint

SYMBOL = "KQ.m@SHFE.cu"
SOURCES = "SELECT symbol, source, count() FROM checkpoints ORDER BY symbol, source"


async def test_a_questdb_store_does_not_mix_sources(tmp_path: Path, questdb: Endpoint) -> None:
    await drop_all(questdb)
    env = env_with_password(questdb.password)
    cfg = questdb_config(tmp_path / "q.toml", questdb, end="2025-11-05", symbols=(SYMBOL,))
    first = run_cli("backfill", "-c", str(cfg), "--json", env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    assert [tuple(r) for r in await fetch(questdb, SOURCES)] == [(SYMBOL, "synthetic", 3)]

    cal = TradingCalendar()
    src = synthetic(cal, seed=3)
    replay_dir = tmp_path / "replay"
    days = cal.trading_days(D("2025-11-03"), D("2025-11-05"))
    export_days([src.fetch_day(parse_main(SYMBOL), d) for d in days], replay_dir)
    replay_cfg = tmp_path / "replay.toml"
    replay_cfg.write_text(
        cfg.read_text() + f'\n[source]\nkind = "replay"\n[source.replay]\npath = "{replay_dir}"\n'
    )
    refused = run_cli("backfill", "-c", str(replay_cfg), env=env, timeout=300)
    assert refused.returncode == exitcodes.CONFIG, refused.stderr[-2000:]
    assert "Traceback" not in refused.stderr + refused.stdout
    last = refused.stderr.strip().splitlines()[-1]
    assert not last.startswith("{") and "synthetic" in last and "--replace-source" in last, last
    assert [tuple(r) for r in await fetch(questdb, SOURCES)] == [(SYMBOL, "synthetic", 3)]

    replaced = run_cli(
        "backfill", "-c", str(replay_cfg), "--replace-source", "--json", env=env, timeout=300
    )
    assert replaced.returncode == 0, replaced.stderr[-2000:]
    assert json.loads(replaced.stdout.splitlines()[-1])["downloaded"] == 3
    assert [tuple(r) for r in await fetch(questdb, SOURCES)] == [(SYMBOL, "replay", 3)]


async def test_an_older_questdb_store_gets_the_column_and_its_days_their_source(
    questdb: Endpoint,
) -> None:
    """A store made before checkpoints had ``source``: the column is added when opened and
    the days already there take the source of their manifest entry (same fingerprint)."""
    await drop_all(questdb)
    [source] = [c for c in schema.CHECKPOINTS.columns if c.name == "source"]
    old_ddl = schema.CHECKPOINTS.create.text.replace(f", {source.ddl()}", "")
    assert "source" not in old_ddl
    day, written = datetime(2025, 11, 3), datetime(2025, 11, 4)
    conn = await asyncpg.connect(questdb.pg)
    try:
        await conn.execute(old_ddl)
        await conn.execute(schema.MANIFESTS.create.text)
        await conn.execute(
            "INSERT INTO checkpoints (trading_day, symbol, contract, row_count, fingerprint, "
            "validator_version, status, written_at) VALUES ($1, $2, 'SHFE.cu2511', 2, '2:ab', "
            "0, 'unvalidated', $3)",
            day,
            SYMBOL,
            written,
        )
        await conn.execute(
            "INSERT INTO manifests (trading_day, symbol, run_id, contract, row_count, "
            "fingerprint, source) VALUES ($1, $2, 'r1', 'SHFE.cu2511', 2, '2:ab', 'synthetic')",
            day,
            SYMBOL,
        )
    finally:
        await conn.close()
    store = QuestDBStore(questdb.settings())
    await store.open()
    try:
        got = await store.checkpoints([SYMBOL], day.date(), day.date())
    finally:
        await store.close()
    assert [c.source for c in got.values()] == ["synthetic"]
    columns = await fetch(questdb, "SELECT \"column\" FROM table_columns('checkpoints')")
    assert "source" in {r[0] for r in columns}
