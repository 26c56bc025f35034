"""Reads, DDL and bookkeeping rows over PGWire with ``asyncpg``.

A small pool (reads are few and short), asyncpg's per-connection statement cache (a
repeated query is prepared once per connection and re-bound after that), naive UTC
datetimes in and out (QuestDB refuses time-zone-aware parameters). The client accepts
only registered ``Sql`` values, so every statement it can send is in the registry the
parser test checks. Errors leave as the daemon's classes: no answer is
``StoreUnavailableError`` (retry later), refused credentials a ``FatalError`` (whatever
SQLSTATE QuestDB sends them with), a statement the server refuses ``PermanentError`` with
the server's message (``questdb.errors``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import asyncpg

from ghtrader_core.store.questdb.errors import classify_pg
from ghtrader_core.store.questdb.sql import Sql

T = TypeVar("T")


class PgClient(Protocol):
    async def fetch(self, sql: Sql, *args: Any) -> list[Sequence[Any]]: ...

    async def execute(self, sql: Sql, *args: Any) -> None: ...

    async def executemany(self, sql: Sql, rows: Sequence[tuple[Any, ...]]) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class PgSettings:
    host: str = "127.0.0.1"
    port: int = 8812
    user: str = "admin"
    database: str = "qdb"
    password: str | None = field(default=None, repr=False)
    ssl: bool = False
    pool_size: int = 2
    connect_timeout_s: float = 10.0
    query_timeout_s: float = 60.0

    def where(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


class AsyncpgClient:
    def __init__(self, pool: asyncpg.Pool, settings: PgSettings) -> None:
        self._pool = pool
        self.settings = settings

    @classmethod
    async def connect(cls, settings: PgSettings) -> AsyncpgClient:
        try:
            pool = await asyncpg.create_pool(
                host=settings.host,
                port=settings.port,
                user=settings.user,
                password=settings.password,
                database=settings.database,
                ssl=settings.ssl or None,
                min_size=1,
                max_size=settings.pool_size,
                timeout=settings.connect_timeout_s,
                command_timeout=settings.query_timeout_s,
            )
        except Exception as exc:
            raise classify_pg(
                exc, f"the login to {settings.where()}", connecting=True
            ) from exc
        return cls(pool, settings)

    async def _call(self, sql: Sql, call: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        if not isinstance(sql, Sql):  # only registered statements reach the server
            raise TypeError(f"expected a registered Sql statement, got {type(sql).__name__}")
        try:
            async with self._pool.acquire(timeout=self.settings.connect_timeout_s) as conn:
                return await call(conn)
        except Exception as exc:
            raise classify_pg(exc, sql.name) from exc

    async def fetch(self, sql: Sql, *args: Any) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]] = await self._call(sql, lambda c: c.fetch(sql.text, *args))
        return rows

    async def execute(self, sql: Sql, *args: Any) -> None:
        await self._call(sql, lambda c: c.execute(sql.text, *args))

    async def executemany(self, sql: Sql, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            await self._call(sql, lambda c: c.executemany(sql.text, rows))

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._pool.close(), timeout=self.settings.connect_timeout_s)
        except (TimeoutError, OSError):
            self._pool.terminate()
