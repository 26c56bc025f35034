"""The QuestDB store as a registered backend: its config table ``[store.questdb]``, its
password (``QUESTDB_PASSWORD`` or ``$CREDENTIALS_DIRECTORY/questdb_password``, never the
TOML; handed on in fields whose repr hides it) and its builder. Its failures are
classified where they happen (``ilp``, ``pg``, ``visibility``, ``store``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ghtrader_core.backends import Backend, BuildContext, register
from ghtrader_core.calendar.clock import naive_utc
from ghtrader_core.errors import AuthError
from ghtrader_core.secrets import read_secret

# The store's modules (the questdb client, asyncpg: ~14 MB resident) are imported when a
# QuestDB store is built, not when the config registry loads this module for its model:
# a daemon on DuckDB never pays for them.
if TYPE_CHECKING:
    from ghtrader_core.store.questdb.store import QuestDBSettings, QuestDBStore


class QuestDBConfig(BaseModel):
    """``[store.questdb]``: where the server is and how hard to try. The password is not
    here: ``QUESTDB_PASSWORD`` or ``$CREDENTIALS_DIRECTORY/questdb_password``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    http_port: int = Field(9000, ge=1, le=65535)  # ILP over HTTP (writes) and /ping
    pg_port: int = Field(8812, ge=1, le=65535)  # PGWire (reads, DDL, bookkeeping rows)
    user: str = "admin"
    database: str = "qdb"
    tls: bool = False  # https:: for ILP and TLS for PGWire (QuestDB Enterprise or a proxy)
    http_auth: bool = False  # also send user/password as HTTP basic auth with ILP writes
    protocol_version: Literal[1, 2] = 2  # ILP 2: binary doubles, ns timestamps (QuestDB >= 9)
    sender_threads: int = Field(1, ge=1, le=16)  # ILP worker threads, one Sender each
    max_buf_size_mb: int = Field(1024, ge=16)  # one batch is one buffer: ~0.5 kB per L5 row
    request_timeout_s: float = Field(60.0, gt=0)  # per flush, plus size / min throughput
    # bytes/s the client expects a flush to reach: it adds batch bytes / this to the
    # time-out (a 100 MB batch at the client's 100 KiB/s: +17 min); 0 adds nothing
    request_min_throughput: int = Field(102_400, ge=0)
    read_via: Literal["http", "pgwire"] = "http"  # tick reads: /exp CSV, or PGWire rows
    retry_timeout_s: float = Field(10.0, ge=0)  # the client's own retries of one flush
    connect_timeout_s: float = Field(10.0, gt=0)
    query_timeout_s: float = Field(60.0, gt=0)
    pool_size: int = Field(2, ge=1, le=32)  # asyncpg connections
    visibility_timeout_s: float = Field(60.0, gt=0)  # wait for WAL apply before checkpoints


PASSWORD_ENV = "QUESTDB_PASSWORD"
PASSWORD_CREDENTIAL = "questdb_password"


class MissingQuestDBPasswordError(AuthError):
    """No password was given: stop with a clear message rather than be refused later."""


def questdb_settings(q: QuestDBConfig, environ: Mapping[str, str] | None = None) -> QuestDBSettings:
    from ghtrader_core.store.questdb.ilp import IlpSettings
    from ghtrader_core.store.questdb.pg import PgSettings
    from ghtrader_core.store.questdb.store import QuestDBSettings

    secret = read_secret(PASSWORD_CREDENTIAL, env=PASSWORD_ENV, environ=environ)
    if secret is None:
        raise MissingQuestDBPasswordError(
            f"no QuestDB password: set {PASSWORD_ENV} or give systemd "
            f"LoadCredential={PASSWORD_CREDENTIAL}:<file> (it is never read from the config)"
        )
    return QuestDBSettings(
        ilp=IlpSettings(
            host=q.host,
            port=q.http_port,
            tls=q.tls,
            protocol_version=q.protocol_version,
            threads=q.sender_threads,
            max_buf_size=q.max_buf_size_mb * 1024 * 1024,
            request_timeout_ms=int(q.request_timeout_s * 1000),
            request_min_throughput=q.request_min_throughput,
            retry_timeout_ms=int(q.retry_timeout_s * 1000),
            username=q.user if q.http_auth else None,
            password=secret.value if q.http_auth else None,
            http_reads=q.read_via == "http",
        ),
        pg=PgSettings(
            host=q.host,
            port=q.pg_port,
            user=q.user,
            database=q.database,
            password=secret.value,
            ssl=q.tls,
            pool_size=q.pool_size,
            connect_timeout_s=q.connect_timeout_s,
            query_timeout_s=q.query_timeout_s,
        ),
        visibility_timeout_s=q.visibility_timeout_s,
    )


def build(section: Any, ctx: BuildContext) -> QuestDBStore:
    from ghtrader_core.store.questdb.store import QuestDBStore

    clock = ctx.clock
    return QuestDBStore(
        questdb_settings(section.questdb, ctx.environ), now=lambda: naive_utc(clock)
    )


BACKEND = register(Backend("questdb", "store", build, config_model=QuestDBConfig))
