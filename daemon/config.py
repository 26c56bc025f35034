"""The typed configuration: one object, validated once, passed in, swapped whole on reload.

A TOML file gives the values; any key can be overridden by an environment variable
``GHTRADERD_<SECTION>__<KEY>`` (nested sections joined by ``__``), e.g.
``GHTRADERD_STORE__PATH=/var/lib/ghtraderd/store.duckdb``. Secrets are never read from
here: see ``daemon.secrets``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_origin

from pydantic import (
    Field,
    ValidationError,
    create_model,
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

from daemon.config_calendar import CalendarConfig, Section
from ghtrader_core.backends import Role, kinds, registered
from ghtrader_core.errors import ConfigInvalidError
from ghtrader_core.symbols import Exchange, SymbolError, parse_main
from ghtrader_core.validation.thresholds import Thresholds

ENV_PREFIX = "GHTRADERD_"


class ConfigError(ConfigInvalidError):
    """A config that cannot be used; the message names file, key, value and what is allowed."""


def _registered(role: Role, kind: str) -> str:
    known = kinds(role)
    if kind not in known:
        raise ValueError(f"unknown {role} kind {kind!r}; registered: {', '.join(known)}")
    return kind


_S = TypeVar("_S", bound=Section)


def _with_backend_tables(base: type[_S], role: Role) -> type[_S]:
    """``base`` plus one field per registered backend of ``role`` that has a config model:
    ``[<role>.<kind>]`` is validated by that backend's own model (unknown keys stay errors,
    each model forbids extras). This module names no backend; the registry does."""
    tables: dict[str, Any] = {
        b.kind: (b.config_model, b.config_model())
        for b in registered(role)
        if b.config_model is not None
    }
    return create_model(  # type: ignore[call-overload, no-any-return]
        base.__name__.removesuffix("Base"),
        __base__=base,
        __module__=__name__,
        __doc__=base.__doc__,
        **tables,
    )


class StoreConfigBase(Section):
    """``[store]``: ``kind`` names a registered store (``ghtrader_core.backends``); each
    store's own table (``[store.<kind>]``) is its package's model, added from the
    registry. ``path`` and ``unwritable_timeout_s`` are the embedded store's, kept at
    this level as before."""

    kind: str = "duckdb"
    path: Path = Path("var/ghtrader.duckdb")
    # DuckDB: how long the store may stay unwritable (disk full, read-only) while writes
    # wait and retry, before the process stops with exit 73
    unwritable_timeout_s: float = Field(300.0, gt=0)
    duckdb_memory_limit_mb: int = Field(64, ge=64)  # DuckDB's buffer manager bound
    duckdb_threads: int = Field(1, ge=1, le=64)  # DuckDB's worker threads

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        return _registered("store", value)


class SourceConfigBase(Section):
    """``[source]``: ``kind`` names a registered source; ``[source.<kind>]`` its model,
    added from the registry."""

    kind: str = "synthetic"

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        return _registered("source", value)

    @model_validator(mode="after")
    def _selected_is_usable(self) -> SourceConfigBase:
        """The selected source's own check (e.g. a replay directory that exists)."""
        selected = getattr(self, self.kind, None)
        check = getattr(selected, "check_selected", None)
        if check is not None:
            check()
        return self


if TYPE_CHECKING:  # statically the shared fields; a backend reads its own table untyped
    StoreConfig = StoreConfigBase
    SourceConfig = SourceConfigBase
else:
    StoreConfig = _with_backend_tables(StoreConfigBase, "store")
    SourceConfig = _with_backend_tables(SourceConfigBase, "source")


class IngestConfig(Section):
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


class DownloadConfig(Section):
    concurrency: int = Field(4, ge=1, le=64)
    retry_attempts: int = Field(5, ge=1, le=100)
    retry_base_s: float = Field(1.0, ge=0)
    retry_max_s: float = Field(60.0, ge=0)
    maintenance_wait_s: float = Field(2100.0, ge=0)
    maintenance_max_waits: int = Field(4, ge=0)


class SinkConfig(Section):
    queue_days: int = Field(8, ge=1, le=1024)
    flush_rows: int = Field(250_000, ge=1)
    # rows fetched and not yet durable (queue + batch + batches in flight); a day larger
    # than this passes alone
    queue_rows: int = Field(500_000, ge=1)
    # the same in bytes of the days' tick frames (~235 B a row): the memory bound itself.
    # 48 holds three full L5 days (13 MB each), so a batch still fills one DuckDB row group
    # (122,880 rows; smaller transactions write ~35 % slower); 32 would hold two.
    queue_mb: int = Field(48, ge=1)
    flush_days: int = Field(64, ge=1)
    flush_interval_s: float = Field(2.0, gt=0)
    retry_base_s: float = Field(0.5, ge=0)
    retry_max_s: float = Field(30.0, ge=0)


class LogConfig(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class DaemonConfig(Section):
    """``ghtraderd run``: schedule, drain and health of the long-running service."""

    drain_timeout_s: float = Field(60.0, gt=0)  # keep TimeoutStopSec= above this
    new_day_delay_s: float = Field(2700.0, ge=0)  # after the day session's close, 15:15 Beijing
    retry_failed_interval_s: float = Field(3600.0, gt=0)
    stall_timeout_s: float = Field(2700.0, gt=0)  # busy without progress this long: unhealthy
    store_ping_interval_s: float = Field(15.0, gt=0)
    coverage_cache: bool = True  # serve /coverage from memory, kept current by the pipeline
    state_dir: Path = Path("var")  # holds the one-instance-per-store lock file


class MetricsConfig(Section):
    enabled: bool = True
    address: str = "127.0.0.1:9464"  # host:port of /metrics, /healthz, /readyz, /status

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"expected host:port, got {value!r}")
        return value


class ValidationConfig(Section):
    """``[validation]``: inline checks on every downloaded day, ``ghtraderd validate``, and
    the thresholds both judge by (see ``ghtrader_core.validation.thresholds``)."""

    enabled: bool = True
    concurrency: int = Field(4, ge=1, le=64)  # days re-validated at once by `validate`
    write_batch_days: int = Field(32, ge=1, le=10_000)  # results written per transaction
    gap_s: float = Field(5.0, gt=0)
    gap_s_by_exchange: dict[Exchange, float] = Field(default_factory=dict)
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
    l5_exchanges: list[Exchange] = Field(default_factory=lambda: [Exchange.SHFE, Exchange.INE])
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
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)  # not field order
        return hashlib.sha256(text.encode()).hexdigest()[:12]


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
