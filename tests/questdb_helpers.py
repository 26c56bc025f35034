"""Helpers for the QuestDB store tests: small frames, a scriptable PGWire fake, and a
sender that fails on cue. The fakes stand in only for the server (which cannot run here);
errors they raise are the real client's ``QuestDBError`` with real error codes."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pandas as pd
import questdb

from ghtrader_core.records import DayStatus, DayValidation, Finding, Gap, Severity
from ghtrader_core.store.base import DayWrite
from ghtrader_core.store.questdb import schema as schema
from ghtrader_core.store.questdb.ilp import IlpSettings, IlpWriter, SenderLike
from ghtrader_core.store.questdb.pg import PgSettings
from ghtrader_core.store.questdb.sql import Sql
from ghtrader_core.store.questdb.store import QuestDBSettings, QuestDBStore
from ghtrader_core.ticks import DayFrame, fingerprint, normalize
from tests.questdb_server import Endpoint

SYMBOL = "KQ.m@SHFE.cu"
CONTRACT = "SHFE.cu2601"
DAY = date(2025, 11, 3)
# 2025-11-03 09:00:00 Beijing = 01:00:00 UTC, in ns
T0 = 1_762_131_600_000_000_000


def small_day(
    trading_day: date = DAY,
    *,
    symbol: str = SYMBOL,
    contract: str = CONTRACT,
    datetimes: Sequence[int] = (T0, T0 + 1),
    ids: Sequence[int] | None = None,
    last_prices: Sequence[float] | None = None,
    validation: DayValidation | None = None,
) -> DayWrite:
    n = len(datetimes)
    raw = pd.DataFrame(
        {
            "id": list(ids) if ids is not None else list(range(7, 7 + n)),
            "datetime": np.asarray(datetimes, dtype="int64"),
            "last_price": list(last_prices) if last_prices is not None else [1.5] * n,
            "volume": [10.0] * n,
        }
    )
    ticks, notes = normalize(raw, symbol=symbol, contract=contract, trading_day=trading_day)
    frame = DayFrame(symbol, trading_day, contract, ticks, notes)
    return DayWrite(frame, fingerprint(ticks), validation)


def a_validation(*, findings: int = 1, gaps: int = 1) -> DayValidation:
    return DayValidation(
        status=DayStatus.WARN,
        score=0.75,
        validator_version=3,
        metrics={"ticks": 2.0},
        findings=tuple(
            Finding("crossed_book", Severity.WARN, 2 + i, (T0,), "" if i else "bid_price1", "x")
            for i in range(findings)
        ),
        gaps=tuple(Gap("day1", T0 + i, T0 + i + 6_000_000_000) for i in range(gaps)),
    )


def flush_error(message: str, code: str = "ServerFlushError") -> questdb.QuestDBError:
    return questdb.QuestDBError(getattr(questdb.QuestDBErrorCode, code), message)


@dataclass
class CueSender:
    """A ``Sender`` double: records each flushed buffer's bytes, raises what it is cued."""

    failures: list[BaseException] = field(default_factory=list)
    flushed: list[bytes] = field(default_factory=list)
    closed: bool = False
    threads: set[int] = field(default_factory=set)  # threads that flushed through it
    reject: Callable[[bytes], BaseException | None] = lambda data: None
    on_flush: Callable[[bytes], None] = lambda data: None

    def establish(self) -> None:
        return None

    def flush(self, buffer: Any = None, clear: bool = True, transactional: bool = False) -> None:
        self.threads.add(threading.get_ident())
        if self.failures:
            raise self.failures.pop(0)
        data = bytes(buffer)
        refused = self.reject(data)
        if refused is not None:
            raise refused
        self.flushed.append(data)
        self.on_flush(data)
        if clear:
            buffer.clear()

    def close(self, flush: bool = True) -> None:
        self.closed = True


class SenderPool:
    """``connect`` for ``IlpWriter``: hands out CueSenders sharing one list of cues."""

    def __init__(
        self,
        failures: Sequence[BaseException] = (),
        *,
        reject: Callable[[bytes], BaseException | None] = lambda data: None,
        on_flush: Callable[[bytes], None] = lambda data: None,
    ) -> None:
        self.failures = list(failures)
        self.reject = reject
        self.on_flush = on_flush
        self.senders: list[CueSender] = []

    def __call__(self, settings: IlpSettings) -> SenderLike:
        sender = CueSender(failures=self.failures, reject=self.reject, on_flush=self.on_flush)
        self.senders.append(sender)
        return sender

    @property
    def flushed(self) -> list[bytes]:
        return [b for s in self.senders for b in s.flushed]


Handler = Callable[[tuple[Any, ...]], list[Sequence[Any]]]


@dataclass
class FakePg:
    """A PGWire double answering by statement name; records every statement it is sent.

    ``wal`` holds (suspended, writerTxn, sequencerTxn) per table; every write to a table
    bumps its sequencerTxn, and each ``wal_tables()`` read lets the writer catch up by
    ``apply_per_read`` transactions (0: never, as in a stuck apply job).
    """

    answers: dict[str, Handler | list[Sequence[Any]]] = field(default_factory=dict)
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    wal: dict[str, list[Any]] = field(default_factory=dict)
    apply_per_read: int = 1
    closed: bool = False

    def committed(self, table: str, txns: int = 1) -> None:
        state = self.wal.setdefault(table, [False, 0, 0])
        state[2] += txns

    async def fetch(self, sql: Sql, *args: Any) -> list[Sequence[Any]]:
        assert isinstance(sql, Sql)
        self.calls.append((sql.name, args))
        if sql.name == "wal_tables":
            rows: list[Sequence[Any]] = []
            for name, state in self.wal.items():
                rows.append((name, state[0], state[1], state[2]))
                if not state[0]:
                    state[1] = min(state[2], state[1] + self.apply_per_read)
            return rows
        answer = self.answers.get(sql.name, [])
        return answer(args) if callable(answer) else list(answer)

    async def execute(self, sql: Sql, *args: Any) -> None:
        assert isinstance(sql, Sql)
        self.calls.append((sql.name, args))
        self._commit(sql)

    async def executemany(self, sql: Sql, rows: Sequence[tuple[Any, ...]]) -> None:
        assert isinstance(sql, Sql)
        self.calls.append((sql.name, tuple(rows)))
        if rows:
            self._commit(sql)

    def _commit(self, sql: Sql) -> None:
        words = sql.text.split()
        if words[0] == "INSERT":
            self.committed(words[2])
        elif words[0] == "UPDATE":
            self.committed(words[1])

    async def close(self) -> None:
        self.closed = True

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


# -- the real store on the fakes -----------------------------------------------------------


async def no_sleep(_: float) -> None:
    return None


def make_store(pg: FakePg, pool: SenderPool | None = None, *, opened: bool = True) -> QuestDBStore:
    pool = pool or SenderPool(on_flush=lambda data: pg.committed("ticks"))

    async def connect(_: PgSettings) -> FakePg:
        return pg

    store = QuestDBStore(
        QuestDBSettings(visibility_timeout_s=5.0),
        pg_connect=connect,  # type: ignore[arg-type]
        writer=IlpWriter(IlpSettings(), connect=pool),
        ping_http=lambda settings, timeout: None,
        now=lambda: datetime(2025, 11, 24, 12),
        sleep=no_sleep,
    )
    if opened:  # as after open(), without running the migration
        store._pg = pg  # type: ignore[assignment]
    return store


# -- against the live server (tests/questdb_server.py) -----------------------------------


async def drop_all(endpoint: Endpoint) -> None:
    """Drop every table of the store: each live test starts from an empty database."""
    conn = await asyncpg.connect(endpoint.pg)
    try:
        for table in schema.TABLES:
            await conn.execute(f"DROP TABLE IF EXISTS {table.name}")
    finally:
        await conn.close()


async def fetch(endpoint: Endpoint, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(endpoint.pg)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def questdb_config(
    path: Path,
    endpoint: Endpoint,
    *,
    end: str = "2025-11-07",
    symbols: Sequence[str] = ("KQ.m@SHFE.cu", "KQ.m@CFFEX.IF"),
    latency_s: float = 0.0,
    query_timeout_s: float = 30.0,
    store_extra: str = "",
    tail: str = "",
) -> Path:
    """A ghtraderd config on ``endpoint`` with the synthetic source (seed 11)."""
    text = endpoint.toml() + f"query_timeout_s = {query_timeout_s}\n{store_extra}" + f"""
[source.synthetic]
seed = 11
latency_s = {latency_s}

[ingest]
symbols = {json.dumps(list(symbols))}
start = 2025-11-03
end = {end}

[download]
concurrency = 2
retry_base_s = 0.0
retry_max_s = 0.0

[sink]
flush_interval_s = 0.2
retry_base_s = 0.05
retry_max_s = 0.5

[log]
format = "json"
{tail}
"""
    path.write_text(text, encoding="utf-8")
    return path


def duckdb_twin(path: Path, questdb_config_path: Path, store: Path) -> Path:
    """The same config on the embedded store: what the QuestDB results must equal."""
    text = questdb_config_path.read_text(encoding="utf-8")
    _, _, rest = text.partition("[source.synthetic]")
    path.write_text(f'[store]\npath = "{store}"\n\n[source.synthetic]{rest}', encoding="utf-8")
    return path


def env_with_password(password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHTRADERD_")}
    env["QUESTDB_PASSWORD"] = password
    return env
