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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ghtrader_core.sources.synthetic import FAULT_KINDS
from ghtrader_core.symbols import Exchange, SymbolError, parse_main

ENV_PREFIX = "GHTRADERD_"


class ConfigError(Exception):
    """A config that cannot be used; the message names file, key, value and what is allowed."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Section):
    kind: Literal["duckdb"] = "duckdb"
    path: Path = Path("var/ghtrader.duckdb")


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


class SourceConfig(_Section):
    kind: Literal["synthetic"] = "synthetic"
    synthetic: SyntheticConfigModel = SyntheticConfigModel()


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


class CalendarConfig(_Section):
    extra_holidays: list[date] = []
    no_night: list[NoNightModel] = [NoNightModel(first=date(2020, 2, 3), last=date(2020, 5, 6))]


class LogConfig(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


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
