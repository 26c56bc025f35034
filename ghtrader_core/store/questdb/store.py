"""The production store: QuestDB, written over ILP/HTTP and read over PGWire.

- Schema (``questdb_schema``): WAL tables with DEDUP UPSERT KEYS, created or migrated on
  ``open`` (missing tables created, missing columns added, keys re-enabled) and the
  version recorded; a table that conflicts with what this code expects (not WAL, another
  designated timestamp, a column of another type) stops the start with the list of
  conflicts, because fixing those needs a rewrite an operator must decide on.
- Ticks are keyed ``(ts TIMESTAMP_NS, symbol, id)`` so re-sending a day is idempotent and
  ticks that differ only below the microsecond, or only in TqSdk ``id``, stay distinct.
- QuestDB has no DELETE. Single-row-per-key tables are replaced by upsert. Validation
  findings and gaps are replaced by *generation*: rows carry a hash of the day's
  validation, the summary row (upserted) names the current one, stale rows are never
  read. Failed days are cleared by a later checkpoint through a join, not a delete.
  A re-download that returns *fewer* ticks than an earlier one cannot remove the extra
  stored ticks; ``day_counts`` lets the validation compare stored and expected rows.
- Writes (``questdb_ilp``): ticks and validation rows of a batch in one buffer, one
  flush, on the writer's own thread with its long-lived sender. Then the store waits for
  QuestDB to apply them (``questdb_visibility``) and only then returns, so the pipeline's
  checkpoint never names rows a reader cannot see.
- Reads and bookkeeping (``pg``): asyncpg with a small pool; naive UTC datetimes. The
  read queries live in ``reads`` (a mixin), frame building and row conversion in
  ``frames``, error classification in ``errors``.
"""

from __future__ import annotations

import base64
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import anyio

from ghtrader_core.calendar.clock import SYSTEM_CLOCK, naive_utc
from ghtrader_core.errors import ConfigInvalidError, StoreUnavailableError
from ghtrader_core.records import Checkpoint, FailedDay, IngestRun, ManifestEntry
from ghtrader_core.store.base import DayWrite, ValidationWrite
from ghtrader_core.store.questdb import queries as q
from ghtrader_core.store.questdb import schema as schema
from ghtrader_core.store.questdb.errors import QuestDBAuthRefusedError
from ghtrader_core.store.questdb.frames import (  # re-exported: bench and tests build frames
    as_ts,
    day_frames,
    generation,
    ticks_from_rows,
    validation_frames,
)
from ghtrader_core.store.questdb.ilp import IlpSettings, IlpWriter
from ghtrader_core.store.questdb.pg import AsyncpgClient, PgClient, PgSettings
from ghtrader_core.store.questdb.read import QuestDBReader
from ghtrader_core.store.questdb.reads import QuestDBReads
from ghtrader_core.store.questdb.sql import Sql
from ghtrader_core.store.questdb.visibility import WalState, read_targets, wait_applied
from ghtrader_core.store.rows import (
    checkpoint_row,
    failed_row,
    manifest_row,
    mark_row,
    run_row,
    schedule_rows,
)

__all__ = [
    "QuestDBSchemaError",
    "QuestDBSettings",
    "QuestDBStore",
    "day_frames",
    "generation",
    "http_ping",
    "ticks_from_rows",
    "validation_frames",
]

log = logging.getLogger("ghtraderd.questdb")


class QuestDBSchemaError(ConfigInvalidError):
    """Existing tables conflict with the schema this version needs (EX_CONFIG)."""


@dataclass(frozen=True)
class QuestDBSettings:
    ilp: IlpSettings = field(default_factory=IlpSettings)
    pg: PgSettings = field(default_factory=PgSettings)
    visibility_timeout_s: float = 60.0


PgConnect = Callable[[PgSettings], Awaitable[PgClient]]
HttpPing = Callable[[IlpSettings, float], None]


def http_ping(settings: IlpSettings, timeout_s: float) -> None:
    """``GET /ping`` on the ILP/HTTP port (blocking). Raises StoreUnavailableError."""
    scheme = "https" if settings.tls else "http"
    request = urllib.request.Request(f"{scheme}://{settings.host}:{settings.port}/ping")
    if settings.username and settings.password:
        token = base64.b64encode(f"{settings.username}:{settings.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        raise StoreUnavailableError(
            f"QuestDB ILP/HTTP at {settings.host}:{settings.port} does not answer: {exc}"
        ) from exc
    if status in (401, 403):
        raise QuestDBAuthRefusedError(f"QuestDB ILP/HTTP refused the credentials (HTTP {status})")
    if status >= 300:
        raise StoreUnavailableError(f"QuestDB ILP/HTTP /ping answered HTTP {status}")


class QuestDBStore(QuestDBReads):
    name = "questdb"

    def __init__(
        self,
        settings: QuestDBSettings,
        *,
        pg_connect: PgConnect = AsyncpgClient.connect,
        writer: IlpWriter | None = None,
        ping_http: HttpPing = http_ping,
        now: Callable[[], datetime] = lambda: naive_utc(SYSTEM_CLOCK),
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.settings = settings
        self._pg_connect = pg_connect
        self._writer = writer
        self._ping_http = ping_http
        self._now = now
        self._sleep = sleep
        self._pg: PgClient | None = None

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def pg(self) -> PgClient:
        if self._pg is None:
            raise StoreUnavailableError("QuestDB store is not open")
        return self._pg

    @property
    def writer(self) -> IlpWriter:
        if self._writer is None:
            self._writer = IlpWriter(self.settings.ilp)
        return self._writer

    async def open(self) -> None:
        if self._pg is None:
            self._pg = await self._pg_connect(self.settings.pg)
        try:
            await self._ping_ilp()
            await self.migrate()
        except BaseException:
            await self.close()
            raise
        log.info("questdb store open: %s, ILP %s", self.settings.pg.where(), self.settings.ilp)

    async def close(self) -> None:
        pg, self._pg = self._pg, None
        if pg is not None:
            await pg.close()
        writer, self._writer = self._writer, None
        if writer is not None:
            await anyio.to_thread.run_sync(writer.close)

    async def ping(self) -> None:
        """Both endpoints: PGWire answers a query and ILP/HTTP answers ``/ping``."""
        if self._pg is None:
            pg = await self._pg_connect(self.settings.pg)
            try:
                await pg.fetch(q.PING)
            finally:
                await pg.close()
        else:
            await self.pg.fetch(q.PING)
        await self._ping_ilp()

    def reader(self) -> QuestDBReader:
        """The read API's statements (``ghtrader_core.read``) over this store's client."""
        # qread seam: ticks over the HTTP server's /exp (QuestDBReader picks by settings)
        return QuestDBReader(self.pg, self.settings.ilp, self.settings.pg.query_timeout_s)

    async def _ping_ilp(self) -> None:
        await anyio.to_thread.run_sync(
            self._ping_http, self.settings.ilp, self.settings.pg.connect_timeout_s
        )

    async def migrate(self) -> list[str]:
        """Create or migrate every table; record the schema version. Returns what ran."""
        existing = {str(r[0]): r for r in await self.pg.fetch(schema.TABLES_QUERY)}
        plan: list[Sql] = []
        conflicts: list[str] = []
        for table in schema.TABLES:
            found = existing.get(table.name)
            current = None
            if found is not None:
                columns = await self.pg.fetch(table.columns_query)
                current = schema.ExistingTable(
                    name=table.name,
                    wal=bool(found[1]),
                    dedup=bool(found[2]),
                    partition_by=str(found[3]),
                    timestamp=str(found[4]),
                    columns={str(c[0]): str(c[1]) for c in columns},
                    upsert_keys=frozenset(str(c[0]) for c in columns if c[2]),
                )
            statements, problems = schema.plan_migration(table, current)
            plan.extend(statements)
            conflicts.extend(problems)
        if conflicts:
            raise QuestDBSchemaError(
                "QuestDB tables conflict with the schema ghtraderd needs: "
                + "; ".join(conflicts)
                + ". Rename or drop them (their data is not touched), then start again."
            )
        for statement in plan:
            log.info("questdb schema: %s", statement.name)
            await self.pg.execute(statement)
        rows = await self.pg.fetch(schema.SCHEMA_VERSION_QUERY)
        version = rows[0][0] if rows else None
        if version is None or int(version) < schema.QUESTDB_SCHEMA_VERSION:
            await self.pg.execute(
                schema.SCHEMA_VERSION_INSERT, self._now(), schema.QUESTDB_SCHEMA_VERSION
            )
            await self._wait_applied(["schema_version"])  # the next start must see it
        return [s.name for s in plan]

    # -- writes -------------------------------------------------------------------------
    async def write_days(self, days: Sequence[DayWrite]) -> None:
        await self.wait_visible(await self.send_days(days))

    @property
    def send_concurrency(self) -> int:
        return self.settings.ilp.threads

    async def send_days(self, days: Sequence[DayWrite]) -> dict[str, int]:
        """Build, encode and flush ``days`` (durable in QuestDB's WAL when this returns);
        return what ``wait_visible`` must wait for. The sink overlaps the next batch's
        send with this one's wait, and checkpoints only after the wait."""
        if not days:
            return {}
        sent = await self.writer.write(lambda scratch: day_frames(days, scratch))
        return await read_targets(self._read_wal, list(sent))

    async def wait_visible(self, targets: dict[str, int]) -> None:
        """Return once QuestDB has applied the sequencer txns in ``targets``."""
        if targets:
            await wait_applied(
                self._read_wal,
                list(targets),
                timeout_s=self.settings.visibility_timeout_s,
                sleep=self._sleep,
                targets=targets,
            )

    async def write_checkpoints(
        self, checkpoints: Sequence[Checkpoint], manifest: Sequence[ManifestEntry]
    ) -> None:
        await self.pg.executemany(
            q.CHECKPOINT_INSERT, [checkpoint_row(c, as_ts) for c in checkpoints]
        )
        await self.pg.executemany(q.MANIFEST_INSERT, [manifest_row(m, as_ts) for m in manifest])
        await self._wait_applied(
            [t for t, rows in (("checkpoints", checkpoints), ("manifests", manifest)) if rows]
        )

    async def record_failed(self, failed: Sequence[FailedDay]) -> None:
        rows = [failed_row(f, as_ts) for f in failed]
        await self.pg.executemany(q.FAILED_INSERT, rows)
        await self._wait_applied(["failed_days"] if rows else [])

    async def record_run(self, run: IngestRun) -> None:
        await self.pg.execute(q.RUN_INSERT, *run_row(run))
        await self._wait_applied(["ingest_runs"])

    async def write_schedule(self, symbol: str, day_contracts: Sequence[tuple[date, str]]) -> None:
        fetched_at = self._now()
        rows = schedule_rows(symbol, day_contracts, fetched_at, as_ts)
        await self.pg.executemany(q.SCHEDULE_INSERT, rows)
        await self._wait_applied(["main_schedule"] if rows else [])

    async def _read_wal(self) -> dict[str, WalState]:
        rows = await self.pg.fetch(q.WAL_TABLES)
        return {str(r[0]): WalState(str(r[0]), bool(r[1]), int(r[2]), int(r[3])) for r in rows}

    async def _wait_applied(self, tables: Sequence[str]) -> None:
        await wait_applied(
            self._read_wal, tables, timeout_s=self.settings.visibility_timeout_s, sleep=self._sleep
        )

    async def write_validations(self, results: Sequence[ValidationWrite]) -> None:
        """New generations of the days' validation rows, then the checkpoints marked.

        Not one transaction (QuestDB has none across tables), but safe in any order of
        failure: until the checkpoint is marked the day stays due and is re-validated,
        which rewrites the same generation.
        """
        if not results:
            return
        sent = await self.writer.write(validation_frames(results))
        await self._wait_applied(list(sent))
        await self.pg.executemany(q.CHECKPOINT_MARK, [mark_row(r, as_ts) for r in results])
        await self._wait_applied(["checkpoints"])
