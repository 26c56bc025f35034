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
from typing import Any, Literal, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ghtrader_core.backends import kinds
from ghtrader_core.calendar.history import HistoryError, regime_from_row
from ghtrader_core.errors import ConfigInvalidError
from ghtrader_core.sources.replay.backend import ReplayConfigModel
from ghtrader_core.sources.synthetic.backend import SyntheticConfigModel
from ghtrader_core.sources.tqsdk.backend import TqSdkConfigModel
from ghtrader_core.store.questdb.backend import QuestDBConfig
from ghtrader_core.symbols import Exchange, SymbolError, parse_main, variety_of
from ghtrader_core.validation.thresholds import Thresholds

ENV_PREFIX = "GHTRADERD_"


class ConfigError(ConfigInvalidError):
    """A config that cannot be used; the message names file, key, value and what is allowed."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _registered(role: Literal["store", "source"], kind: str) -> str:
    known = kinds(role)
    if kind not in known:
        raise ValueError(f"unknown {role} kind {kind!r}; registered: {', '.join(known)}")
    return kind


class StoreConfig(_Section):
    """``[store]``: ``kind`` names a registered store (``ghtrader_core.backends``); each
    store's own table (``[store.<kind>]``) is its package's model. ``path`` and
    ``unwritable_timeout_s`` are the embedded store's, kept at this level as before."""

    kind: str = "duckdb"
    path: Path = Path("var/ghtrader.duckdb")
    # DuckDB: how long the store may stay unwritable (disk full, read-only) while writes
    # wait and retry, before the process stops with exit 73
    unwritable_timeout_s: float = Field(300.0, gt=0)
    duckdb_memory_limit_mb: int = Field(256, ge=64)  # DuckDB's buffer manager bound
    duckdb_threads: int = Field(2, ge=1, le=64)  # DuckDB's worker threads
    questdb: QuestDBConfig = QuestDBConfig()

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        return _registered("store", value)


class SourceConfig(_Section):
    """``[source]``: ``kind`` names a registered source; ``[source.<kind>]`` its model."""

    kind: str = "synthetic"
    synthetic: SyntheticConfigModel = SyntheticConfigModel()
    tqsdk: TqSdkConfigModel = TqSdkConfigModel()
    replay: ReplayConfigModel = ReplayConfigModel()

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        return _registered("source", value)

    @model_validator(mode="after")
    def _selected_is_usable(self) -> SourceConfig:
        """The selected source's own check (e.g. a replay directory that exists)."""
        selected = getattr(self, self.kind, None)
        check = getattr(selected, "check_selected", None)
        if check is not None:
            check()
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
    # rows fetched and not yet durable (queue + batch + batches in flight); a day larger
    # than this passes alone
    queue_rows: int = Field(500_000, ge=1)
    # the same in bytes of the days' tick frames (~280 B a row): the memory bound itself
    queue_mb: int = Field(64, ge=1)
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


class RegimeModel(_Section):
    """A session-history row from config (``[[calendar.regimes]]``), in the columns of
    ``ghtrader_core/calendar/session_history.csv``, for what the shipped history lacks,
    e.g. ``{ exchanges = ["DCE"], varieties = ["bz"], session = "night",
    kind = "introduced", first = 2025-07-08, start = "21:00", end = "23:00" }``.
    Its confidence is ``config``: it judges at full severity."""

    exchanges: list[Exchange]
    varieties: list[str] = []  # codes; empty = every variety of ``exchanges``
    session: Literal["night", "day"]
    kind: Literal["introduced", "hours", "day-only", "one-off", "suspended", "auction"]
    first: date | None = None
    last: date | None = None
    start: str = ""
    end: str = ""
    segments: str = ""  # day: "am1=09:00-10:15 am2=10:30-11:30 pm=13:30-15:00"
    auction: str = ""
    source: str = "config"
    notes: str = ""

    def row(self) -> dict[str, str]:
        return {
            "exchange": ";".join(e.value for e in self.exchanges),
            "varieties": ";".join(self.varieties) or "*",
            "session": self.session,
            "kind": self.kind,
            "first_trading_day": self.first.isoformat() if self.first else "",
            "last_trading_day": self.last.isoformat() if self.last else "",
            "start": self.start,
            "end": self.end,
            "segments": self.segments,
            "auction": self.auction,
            "confidence": "config",
            "source": self.source,
            "notes": self.notes,
        }

    @field_validator("varieties")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return [c.strip() for c in value if c.strip()]

    @model_validator(mode="after")
    def _parses(self) -> RegimeModel:
        for code in self.varieties:
            if not any(_known(e, code) for e in self.exchanges):
                where = ", ".join(e.value for e in self.exchanges)
                raise ValueError(f"unknown variety {code!r} on {where}")
        try:
            regime_from_row(self.row(), "[[calendar.regimes]]")
        except HistoryError as exc:
            raise ValueError(str(exc)) from None
        return self


def _known(exchange: Exchange, code: str) -> bool:
    try:
        variety_of(exchange.value, code)
    except SymbolError:
        return False
    return True


class CalendarConfig(_Section):
    extra_holidays: list[date] = []
    no_night: list[NoNightModel] = [NoNightModel(first=date(2020, 2, 3), last=date(2020, 5, 6))]
    night_hours: list[NightHoursModel] = []
    regimes: list[RegimeModel] = []  # rows added to the shipped session history


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
        return (_EnvSource(settings_cls), init_settings)

    def version(self) -> str:
        """A short hash of the effective config: changes whenever any value does."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


class _EnvSource(EnvSettingsSource):
    """Environment values as an operator writes them: a list key takes JSON
    (``["KQ.m@SHFE.cu", "KQ.m@DCE.m"]``) or a plain comma-separated string
    (``KQ.m@SHFE.cu,KQ.m@DCE.m``, or one value alone)."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            return super().decode_complex_value(field_name, field, value)
        except ValueError:
            if isinstance(value, str) and get_origin(field.annotation) is list:
                return [part.strip() for part in value.split(",") if part.strip()]
            raise


def _describe(error: dict[str, Any], path: Path) -> str:
    loc = ".".join(str(p) for p in error["loc"])
    env = ENV_PREFIX + "__".join(str(p).upper() for p in error["loc"] if not isinstance(p, int))
    value = error.get("input")
    shown = "" if error["type"] == "missing" or isinstance(value, dict) else f" = {value!r}"
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
