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
- Reads and bookkeeping (``questdb_pg``): asyncpg with a small pool; naive UTC datetimes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import anyio
import numpy as np
import pandas as pd

from ghtrader_core.errors import FatalError, StoreUnavailableError
from ghtrader_core.records import (
    Checkpoint,
    CoverageRow,
    DayValidation,
    FailedDay,
    IngestRun,
    ManifestEntry,
)
from ghtrader_core.store.base import DayWrite, GapRow, ValidationRow, ValidationWrite
from ghtrader_core.store.questdb import queries as q
from ghtrader_core.store.questdb import schema as schema
from ghtrader_core.store.questdb.errors import QuestDBAuthRefusedError
from ghtrader_core.store.questdb.ilp import (
    TICK_SYMBOLS,
    IlpFrame,
    IlpSettings,
    IlpWriter,
    Scratch,
    ticks_frame,
)
from ghtrader_core.store.questdb.pg import AsyncpgClient, PgClient, PgSettings
from ghtrader_core.store.questdb.sql import Sql
from ghtrader_core.store.questdb.visibility import WalState, wait_applied
from ghtrader_core.ticks import FLOAT_COLUMNS, TICK_COLUMNS, empty_ticks

log = logging.getLogger("ghtraderd.questdb")

# A trading day's ticks lie between the evening before (Friday for Monday, night sessions
# end by 02:30 Beijing) and its own afternoon: this UTC window around the day prunes
# partitions; the trading_day filter then picks the exact rows.
DAY_WINDOW_BEFORE = timedelta(days=5)
DAY_WINDOW_AFTER = timedelta(days=1)


class QuestDBSchemaError(FatalError):
    """Existing tables conflict with the schema this version needs (EX_CONFIG)."""

    exit_code = 78


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


class QuestDBStore:
    name = "questdb"

    def __init__(
        self,
        settings: QuestDBSettings,
        *,
        pg_connect: PgConnect = AsyncpgClient.connect,
        writer: IlpWriter | None = None,
        ping_http: HttpPing = http_ping,
        now: Callable[[], datetime] = lambda: datetime.now(tz=UTC).replace(tzinfo=None),
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
        if not days:
            return
        sent = await self.writer.write(lambda scratch: day_frames(days, scratch))
        await self._wait_applied(list(sent))

    async def write_checkpoints(
        self, checkpoints: Sequence[Checkpoint], manifest: Sequence[ManifestEntry]
    ) -> None:
        await self.pg.executemany(
            q.CHECKPOINT_INSERT,
            [
                (
                    _ts(c.trading_day),
                    c.symbol,
                    c.contract,
                    c.rows,
                    c.fingerprint,
                    c.validator_version,
                    c.status,
                    c.written_at,
                )
                for c in checkpoints
            ],
        )
        await self.pg.executemany(
            q.MANIFEST_INSERT,
            [
                (
                    _ts(m.trading_day),
                    m.symbol,
                    m.run_id,
                    m.contract,
                    m.rows,
                    m.fingerprint,
                    m.source,
                    m.schema_hash,
                    m.code_version,
                )
                for m in manifest
            ],
        )
        await self._wait_applied(
            [t for t, rows in (("checkpoints", checkpoints), ("manifests", manifest)) if rows]
        )

    async def record_failed(self, failed: Sequence[FailedDay]) -> None:
        rows = [
            (_ts(f.trading_day), f.symbol, f.reason, f.permanent, f.attempts, f.failed_at)
            for f in failed
        ]
        await self.pg.executemany(q.FAILED_INSERT, rows)
        await self._wait_applied(["failed_days"] if rows else [])

    async def record_run(self, run: IngestRun) -> None:
        await self.pg.execute(
            q.RUN_INSERT,
            run.started_at,
            run.run_id,
            run.command,
            run.ended_at,
            run.planned,
            run.downloaded,
            run.skipped,
            run.failed,
            run.rows,
            run.status,
            run.config_hash,
            run.code_version,
        )
        await self._wait_applied(["ingest_runs"])

    async def write_schedule(self, symbol: str, day_contracts: Sequence[tuple[date, str]]) -> None:
        fetched_at = self._now()
        rows = [(_ts(day), symbol, contract, fetched_at) for day, contract in day_contracts]
        await self.pg.executemany(q.SCHEDULE_INSERT, rows)
        await self._wait_applied(["main_schedule"] if rows else [])

    async def _read_wal(self) -> dict[str, WalState]:
        rows = await self.pg.fetch(q.WAL_TABLES)
        return {str(r[0]): WalState(str(r[0]), bool(r[1]), int(r[2]), int(r[3])) for r in rows}

    async def _wait_applied(self, tables: Sequence[str]) -> None:
        await wait_applied(
            self._read_wal, tables, timeout_s=self.settings.visibility_timeout_s, sleep=self._sleep
        )

    # -- reads --------------------------------------------------------------------------
    async def checkpoints(
        self, symbols: Sequence[str], start: date, end: date
    ) -> dict[tuple[str, date], Checkpoint]:
        wanted = set(symbols)
        rows = await self.pg.fetch(q.CHECKPOINTS_IN_RANGE, _ts(start), _ts(end))
        out: dict[tuple[str, date], Checkpoint] = {}
        for r in rows:
            if r[0] not in wanted:
                continue
            checkpoint = _checkpoint(r)
            out[(checkpoint.symbol, checkpoint.trading_day)] = checkpoint
        return out

    async def failed_days(self) -> list[FailedDay]:
        rows = await self.pg.fetch(q.FAILED_OPEN)
        return [
            FailedDay(str(r[0]), _day(r[1]), str(r[2]), bool(r[3]), int(r[4]), r[5]) for r in rows
        ]

    async def coverage(self) -> list[CoverageRow]:
        rows = await self.pg.fetch(q.COVERAGE)
        out = []
        for r in rows:
            days = tuple(sorted(date.fromisoformat(d) for d in str(r[5] or "").split(",") if d))
            out.append(
                CoverageRow(str(r[0]), _day(r[1]), _day(r[2]), int(r[3]), int(r[4] or 0), days)
            )
        return out

    async def read_day(self, symbol: str, trading_day: date) -> pd.DataFrame:
        start = _ts(trading_day) - DAY_WINDOW_BEFORE
        end = _ts(trading_day) + DAY_WINDOW_AFTER
        rows = await self.pg.fetch(q.READ_DAY, start, end, symbol, _ts(trading_day))
        return ticks_from_rows(rows)

    async def read_schedule(self, symbol: str) -> list[tuple[date, str]]:
        rows = await self.pg.fetch(q.READ_SCHEDULE, symbol)
        return [(_day(r[0]), str(r[1])) for r in rows]

    # -- validation -------------------------------------------------------------------
    async def validation_due(
        self,
        symbols: Sequence[str],
        start: date,
        end: date,
        validator_version: int,
        *,
        full: bool = False,
    ) -> list[Checkpoint]:
        wanted = set(symbols)
        due: list[Checkpoint] = []
        for r in await self.pg.fetch(q.VALIDATION_STATE, _ts(start), _ts(end)):
            if r[0] not in wanted:
                continue
            checkpoint = _checkpoint(r)
            summary_fingerprint, summary_version = r[8], r[9]
            if (
                full
                or summary_fingerprint is None
                or summary_fingerprint != checkpoint.fingerprint
                or int(summary_version or 0) < validator_version
                or checkpoint.validator_version < validator_version
            ):
                due.append(checkpoint)
        return sorted(due, key=lambda c: (c.trading_day, c.symbol))

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
        await self.pg.executemany(
            q.CHECKPOINT_MARK,
            [
                (
                    r.validation.validator_version,
                    str(r.validation.status),
                    _ts(r.trading_day),
                    r.symbol,
                    r.fingerprint,
                )
                for r in results
            ],
        )
        await self._wait_applied(["checkpoints"])

    async def validation_rows(
        self, symbols: Sequence[str], start: date, end: date
    ) -> list[ValidationRow]:
        wanted = set(symbols)
        lo, hi = _ts(start), _ts(end)
        state = [r for r in await self.pg.fetch(q.VALIDATION_STATE, lo, hi) if r[0] in wanted]
        counts: dict[tuple[str, date, int], dict[str, Any]] = {}
        for r in await self.pg.fetch(q.FINDING_COUNTS, lo, hi):
            entry = counts.setdefault(
                (str(r[0]), _day(r[1]), int(r[2])), {"error": 0, "warn": 0, "checks": set()}
            )
            entry[str(r[3])] += int(r[5])
            entry["checks"].add(str(r[4]))
        largest = {
            (str(r[0]), _day(r[1]), int(r[2])): float(r[3])
            for r in await self.pg.fetch(q.GAP_MAX, lo, hi)
        }
        out = []
        for r in state:
            checkpoint = _checkpoint(r)
            gen = None if r[12] is None else int(r[12])
            key = (checkpoint.symbol, checkpoint.trading_day, gen if gen is not None else 0)
            found = counts.get(key, {}) if gen is not None else {}
            out.append(
                ValidationRow(
                    checkpoint.symbol,
                    checkpoint.trading_day,
                    checkpoint.rows,
                    str(r[10]) if r[10] is not None else "unvalidated",
                    None if r[11] is None else float(r[11]),
                    int(r[9] or 0),
                    int(found.get("error", 0)),
                    int(found.get("warn", 0)),
                    ",".join(sorted(found.get("checks", ()))),
                    largest.get(key) if gen is not None else None,
                )
            )
        return sorted(out, key=lambda v: (v.symbol, v.trading_day))

    async def largest_gaps(
        self, symbols: Sequence[str], start: date, end: date, limit: int
    ) -> list[GapRow]:
        wanted = set(symbols)
        kept: dict[str, list[GapRow]] = {}
        for r in await self.pg.fetch(q.CURRENT_GAPS, _ts(start), _ts(end)):
            symbol = str(r[0])
            rows = kept.setdefault(symbol, [])
            if symbol in wanted and len(rows) < limit:  # ordered longest first
                rows.append(
                    GapRow(symbol, _day(r[1]), str(r[2]), int(r[3]), int(r[4]), float(r[5]))
                )
        return [g for symbol in sorted(kept) for g in kept[symbol]]

    async def day_counts(self, start: date, end: date) -> dict[tuple[str, date], int]:
        """Stored ticks per symbol-day for trading days ``start``..``end``."""
        rows = await self.pg.fetch(
            q.DAY_COUNTS, _ts(start) - DAY_WINDOW_BEFORE, _ts(end) + DAY_WINDOW_AFTER
        )
        out = {(str(r[0]), _day(r[1])): int(r[2]) for r in rows}
        return {k: v for k, v in out.items() if start <= k[1] <= end}

    async def table_counts(self) -> dict[str, int]:
        """Row count per table: for tests and the demo's summary."""
        out: dict[str, int] = {}
        for table in schema.TABLES:
            rows = await self.pg.fetch(table.count)
            out[table.name] = int(rows[0][0]) if rows else 0
        return out


# -- frames and rows ---------------------------------------------------------------------


def _ts(day: date) -> datetime:
    """A trading day as the naive UTC midnight QuestDB stores for it."""
    return datetime(day.year, day.month, day.day)


def _checkpoint(r: Sequence[Any]) -> Checkpoint:
    """The first eight columns of a checkpoints row (see ``CHECKPOINTS_IN_RANGE``)."""
    return Checkpoint(
        str(r[0]), _day(r[1]), str(r[2]), int(r[3]), str(r[4]), int(r[5] or 0), str(r[6]), r[7]
    )


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def generation(validation: DayValidation) -> int:
    """A signed 64-bit hash of a day's validation: same content, same generation."""
    content = json.dumps(
        {
            "status": str(validation.status),
            "score": validation.score,
            "version": validation.validator_version,
            "metrics": validation.metrics,
            "findings": [
                [f.check, str(f.severity), f.count, list(f.examples_ns), f.field, f.message]
                for f in validation.findings
            ],
            "gaps": [[g.session, g.start_ns, g.end_ns] for g in validation.gaps],
        },
        sort_keys=True,
        default=str,
    )
    digest = hashlib.blake2b(content.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def day_frames(days: Sequence[DayWrite], scratch: Scratch | None = None) -> list[IlpFrame]:
    """Everything ``write_days`` sends for ``days``, table by table, in one buffer's order."""
    ordered = sorted(days, key=lambda d: (d.day.trading_day, d.day.symbol))
    ticks = ticks_frame([d.day.ticks for d in ordered], scratch)
    frames = [IlpFrame("ticks", ticks, TICK_SYMBOLS, "ts")]
    return frames + validation_frames(
        [
            ValidationWrite(d.day.symbol, d.day.trading_day, d.fingerprint, d.validation)
            for d in ordered
            if d.validation is not None
        ]
    )


def validation_frames(results: Sequence[ValidationWrite]) -> list[IlpFrame]:
    """Summary, findings and gaps of validated days, keyed by the content's generation."""
    summary: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    gaps: list[dict[str, Any]] = []
    for w in sorted(results, key=lambda r: (r.trading_day, r.symbol)):
        v = w.validation
        key = {"symbol": w.symbol, "trading_day": _ts(w.trading_day)}
        gen = generation(v)
        summary.append(
            {
                **key,
                "status": str(v.status),
                "score": float(v.score),
                "validator_version": int(v.validator_version),
                "metrics": json.dumps(v.metrics, sort_keys=True, default=str),
                "generation": gen,
                "fingerprint": w.fingerprint,
            }
        )
        for seq, f in enumerate(v.findings):
            findings.append(
                {
                    **key,
                    "generation": gen,
                    "seq": seq,
                    "check_name": f.check,
                    "severity": str(f.severity),
                    "hits": int(f.count),
                    "field": f.field or None,
                    "examples_ns": json.dumps(list(f.examples_ns)),
                    "message": f.message,
                }
            )
        for seq, g in enumerate(v.gaps):
            gaps.append(
                {
                    **key,
                    "generation": gen,
                    "seq": seq,
                    "session": g.session,
                    "start_ns": int(g.start_ns),
                    "end_ns": int(g.end_ns),
                    "length_s": float(g.length_s),
                }
            )
    frames: list[IlpFrame] = []
    for table, rows, symbols in (
        ("validation_summary", summary, ("symbol", "status")),
        ("validation_findings", findings, ("symbol", "check_name", "severity", "field")),
        ("validation_gaps", gaps, ("symbol", "session")),
    ):
        if rows:
            frame = pd.DataFrame(rows)
            frame["trading_day"] = frame["trading_day"].astype("datetime64[ns]")
            for name in frame.columns:  # text with NULLs: the client needs a string dtype
                if frame[name].dtype == object:
                    frame[name] = frame[name].astype("string")
            frames.append(IlpFrame(table, frame, symbols, "trading_day"))
    return frames


def ticks_from_rows(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows of ``READ_DAY`` as a frame in the tick schema (NULL doubles back to NaN)."""
    if not rows:
        return empty_ticks()
    names = ["id", "datetime", *FLOAT_COLUMNS, "symbol", "contract", "trading_day"]
    columns = list(zip(*rows, strict=True))
    data: dict[str, Any] = {
        "id": np.asarray(columns[0], dtype="int64"),
        "datetime": np.asarray(columns[1], dtype="int64"),
    }
    for i, name in enumerate(FLOAT_COLUMNS, start=2):
        data[name] = np.array([np.nan if v is None else v for v in columns[i]], dtype="float64")
    n = len(FLOAT_COLUMNS) + 2
    data["symbol"] = [str(v) for v in columns[n]]
    data["contract"] = [str(v) for v in columns[n + 1]]
    data["trading_day"] = [_day(v) for v in columns[n + 2]]
    frame = pd.DataFrame(data, columns=names)
    return frame[TICK_COLUMNS]
