"""The typed configuration: one object, validated once, passed in, swapped whole on reload.

A TOML file gives the values; any key can be overridden by an environment variable
``GHTRADERD_<SECTION>__<KEY>`` (nested sections joined by ``__``), e.g.
``GHTRADERD_STORE__PATH=/var/lib/ghtraderd/store.duckdb``. Secrets are never read from
here: see ``daemon.secrets``.
"""

from __future__ import annotations

import hashlib
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ghtrader_core.sources.synthetic.source import FAULT_KINDS
from ghtrader_core.symbols import Exchange, SymbolError, parse_main, variety_of
from ghtrader_core.validation.thresholds import Thresholds

ENV_PREFIX = "GHTRADERD_"


class ConfigError(Exception):
    """A config that cannot be used; the message names file, key, value and what is allowed."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuestDBConfig(_Section):
    """``[store.questdb]``: where the server is and how hard to try. The password is not
    here: ``QUESTDB_PASSWORD`` or ``$CREDENTIALS_DIRECTORY/questdb_password``."""

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
    retry_timeout_s: float = Field(10.0, ge=0)  # the client's own retries of one flush
    connect_timeout_s: float = Field(10.0, gt=0)
    query_timeout_s: float = Field(60.0, gt=0)
    pool_size: int = Field(2, ge=1, le=32)  # asyncpg connections
    visibility_timeout_s: float = Field(60.0, gt=0)  # wait for WAL apply before checkpoints


class StoreConfig(_Section):
    kind: Literal["duckdb", "questdb"] = "duckdb"
    path: Path = Path("var/ghtrader.duckdb")
    duckdb_memory_limit_mb: int = Field(256, ge=64)  # DuckDB's buffer manager bound
    duckdb_threads: int = Field(2, ge=1, le=64)  # DuckDB's worker threads
    questdb: QuestDBConfig = QuestDBConfig()


class SyntheticConfigModel(_Section):
    seed: int = 0
    latency_s: float = Field(0.0, ge=0)
    timeout_rate: float = Field(0.0, ge=0, le=1)
    maintenance_rate: float = Field(0.0, ge=0, le=1)
    maintenance_wait_s: float = Field(1.0, ge=0)
    faults: dict[str, float] = Field(default_factory=dict)
    l5_exchanges: list[Exchange] = [Exchange.SHFE, Exchange.INE]

    @field_validator("faults")
    @classmethod
    def _known_faults(cls, value: dict[str, float]) -> dict[str, float]:
        for kind, rate in value.items():
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; allowed: {', '.join(FAULT_KINDS)}")
            if not 0 <= rate <= 1:
                raise ValueError(f"rate of {kind!r} must be within 0..1, got {rate}")
        return value


class TqSdkConfigModel(_Section):
    """``[source.tqsdk]``. The account is not here: ``TQSDK_USER`` / ``TQSDK_PASSWORD`` or
    ``$CREDENTIALS_DIRECTORY/tqsdk_user`` / ``tqsdk_password``. Server URLs are TqSdk's own
    environment variables (``TQ_AUTH_URL``, ``TQ_MD_URL``, …), read by TqSdk itself."""

    max_apis: int = Field(2, ge=1, le=16)  # live TqApi instances (account connection limit)
    recycle_after_days: int = Field(20, ge=1)  # a fresh TqApi after this many days (memory)
    wait_timeout_s: float = Field(30.0, gt=0, le=60)  # TqSdk's login/data waits, capped
    day_timeout_s: float = Field(900.0, gt=0)  # one fetch, queueing for a TqApi included
    cache_dir: Path | None = None  # TqSdk's disk cache; default <daemon.state_dir>/tqsdk-cache
    # TqApi sessions in worker processes (scale with cores, killed at day_timeout_s) or
    # threads of the daemon; workers = min(max_apis, download.concurrency, cores)
    processes: bool = True
    recycle_rss_mb: int = Field(1500, ge=0)  # a fresh worker once one holds this much (0: off)
    transfer: Literal["pickle", "arrow"] = "pickle"  # day frames from the workers


class ReplayConfigModel(_Section):
    """``[source.replay]``: a directory of exported CSV/Parquet tick files."""

    path: Path | None = None
    recursive: bool = True


class SourceConfig(_Section):
    kind: Literal["synthetic", "replay", "tqsdk"] = "synthetic"
    synthetic: SyntheticConfigModel = SyntheticConfigModel()
    tqsdk: TqSdkConfigModel = TqSdkConfigModel()
    replay: ReplayConfigModel = ReplayConfigModel()

    @model_validator(mode="after")
    def _replay_has_path(self) -> SourceConfig:
        if self.kind == "replay" and self.replay.path is None:
            raise ValueError("source.kind = 'replay' needs source.replay.path (a directory)")
        return self


class IngestConfig(_Section):
    symbols: list[str] = Field(min_length=1)
    start: date
    end: date | None = None  # None: up to the last complete trading day

    @field_validator("symbols")
    @classmethod
    def _parse_symbols(cls, value: list[str]) -> list[str]:
        out = []
        for text in value:
            try:
                out.append(str(parse_main(text)))
            except SymbolError as exc:
                raise ValueError(str(exc)) from None
        if len(set(out)) != len(out):
            raise ValueError("symbols must not repeat")
        return out


class DownloadConfig(_Section):
    concurrency: int = Field(4, ge=1, le=64)
    retry_attempts: int = Field(5, ge=1, le=100)
    retry_base_s: float = Field(1.0, ge=0)
    retry_max_s: float = Field(60.0, ge=0)
    maintenance_wait_s: float = Field(2100.0, ge=0)
    maintenance_max_waits: int = Field(4, ge=0)


class SinkConfig(_Section):
    queue_days: int = Field(8, ge=1, le=1024)
    flush_rows: int = Field(250_000, ge=1)
    flush_days: int = Field(64, ge=1)
    flush_interval_s: float = Field(2.0, gt=0)
    retry_base_s: float = Field(0.5, ge=0)
    retry_max_s: float = Field(30.0, ge=0)


class NoNightModel(_Section):
    first: date
    last: date
    exchanges: list[Exchange] = list(Exchange)


class NightHoursModel(_Section):
    """A dated night close, e.g. ``{ first = 2015-01-05, last = 2019-03-28,
    exchanges = ["DCE"], end = "23:30" }``; ``varieties`` narrows it (``["DCE.m"]``)."""

    first: date
    last: date
    end: str
    exchanges: list[Exchange] = list(Exchange)
    varieties: list[str] = []

    @field_validator("end")
    @classmethod
    def _clock(cls, value: str) -> str:
        hh, sep, mm = value.partition(":")
        if not (sep and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            raise ValueError(f"expected HH:MM, got {value!r}")
        return value

    @field_validator("varieties")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for name in value:
            exchange, _, code = name.partition(".")
            try:
                variety_of(exchange, code)
            except SymbolError as exc:
                raise ValueError(f"{name!r}: {exc}") from None
        return value

    def end_s(self) -> int:
        """Seconds after the evening's midnight; a close before noon is the next morning."""
        hh, _, mm = self.end.partition(":")
        seconds = int(hh) * 3600 + int(mm) * 60
        return seconds + 86400 if seconds < 12 * 3600 else seconds


class CalendarConfig(_Section):
    extra_holidays: list[date] = []
    no_night: list[NoNightModel] = [NoNightModel(first=date(2020, 2, 3), last=date(2020, 5, 6))]
    night_hours: list[NightHoursModel] = []


class LogConfig(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class DaemonConfig(_Section):
    """``ghtraderd run``: schedule, drain and health of the long-running service."""

    drain_timeout_s: float = Field(60.0, gt=0)  # keep TimeoutStopSec= above this
    new_day_delay_s: float = Field(2700.0, ge=0)  # after the day session's close, 15:15 Beijing
    retry_failed_interval_s: float = Field(3600.0, gt=0)
    stall_timeout_s: float = Field(2700.0, gt=0)  # busy without progress this long: unhealthy
    store_ping_interval_s: float = Field(15.0, gt=0)
    coverage_cache: bool = True  # serve /coverage from memory, kept current by the pipeline
    state_dir: Path = Path("var")  # holds the one-instance-per-store lock file


class MetricsConfig(_Section):
    enabled: bool = True
    address: str = "127.0.0.1:9464"  # host:port of /metrics, /healthz, /readyz, /status

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"expected host:port, got {value!r}")
        return value


class ValidationConfig(_Section):
    """``[validation]``: inline checks on every downloaded day, ``ghtraderd validate``, and
    the thresholds both judge by (see ``ghtrader_core.validation.thresholds``)."""

    enabled: bool = True
    concurrency: int = Field(4, ge=1, le=64)  # days re-validated at once by `validate`
    write_batch_days: int = Field(32, ge=1, le=10_000)  # results written per transaction
    gap_s: float = Field(5.0, gt=0)
    gap_s_by_exchange: dict[Exchange, float] = {}
    gap_error_s: float = Field(30.0, gt=0)
    auction_tolerance_s: float = Field(300.0, ge=0)
    close_tolerance_s: float = Field(5.0, ge=0)
    outside_error_s: float = Field(60.0, ge=0)
    snapshot_ms: float = Field(500.0, gt=0)
    cadence_tolerance_ms: float = Field(1.0, ge=0)
    fixed_cadence_share: float = Field(0.8, ge=0, le=1)
    missing_half_warn: float = Field(0.02, ge=0, le=1)
    missing_half_error: float = Field(0.10, ge=0, le=1)
    min_rows: int = Field(32, ge=0)
    core_null_error_rate: float = Field(0.01, ge=0, le=1)
    l5_null_warn_rate: float = Field(0.05, ge=0, le=1)
    l5_exchanges: list[Exchange] = [Exchange.SHFE, Exchange.INE]
    jump_mad_k: float = Field(30.0, gt=0)
    jump_min_ticks: float = Field(20.0, ge=0)
    max_examples: int = Field(10, ge=0, le=1000)
    max_gaps: int = Field(200, ge=0)

    def thresholds(self) -> Thresholds:
        values = self.model_dump(exclude={"enabled", "concurrency", "write_batch_days"})
        values["gap_s_by_exchange"] = {str(k): v for k, v in self.gap_s_by_exchange.items()}
        values["l5_exchanges"] = tuple(str(e) for e in self.l5_exchanges)
        return Thresholds(**values)


class Config(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        nested_model_default_partial_update=True,
    )

    store: StoreConfig = StoreConfig()
    source: SourceConfig = SourceConfig()
    ingest: IngestConfig
    download: DownloadConfig = DownloadConfig()
    sink: SinkConfig = SinkConfig()
    calendar: CalendarConfig = CalendarConfig()
    log: LogConfig = LogConfig()
    daemon: DaemonConfig = DaemonConfig()
    metrics: MetricsConfig = MetricsConfig()
    validation: ValidationConfig = ValidationConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment over file; no .env files and no secrets directory: secrets are not config.
        return (env_settings, init_settings)

    def version(self) -> str:
        """A short hash of the effective config: changes whenever any value does."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


def _describe(error: dict[str, Any], path: Path) -> str:
    loc = ".".join(str(p) for p in error["loc"])
    env = ENV_PREFIX + "__".join(str(p).upper() for p in error["loc"] if not isinstance(p, int))
    value = error.get("input")
    shown = "" if error["type"] == "missing" else f" = {value!r}"
    return f"{path}: {loc}{shown}: {error['msg']} (file key {loc}, or environment {env})"


def load_config(path: str | Path) -> Config:
    """Load and validate; raise ConfigError with one readable message per problem."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Config(**raw)
    except ValidationError as exc:
        lines = [_describe(dict(e), path) for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from None
