"""Helpers for the pipeline tests: small configs and wrappers around real components."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from daemon.config import Config
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.sources.synthetic.source import SyntheticConfig, SyntheticSource

GHTRADERD = [sys.executable, "-m", "daemon.cli"]
REPO = Path(__file__).resolve().parents[1]


def small_config(
    tmp_path: Path,
    *,
    symbols: tuple[str, ...] = ("KQ.m@SHFE.cu", "KQ.m@CFFEX.IF"),
    start: str = "2025-11-03",
    end: str = "2025-11-05",
    concurrency: int = 2,
    extra: str = "",
    latency_s: float = 0.0,
) -> Path:
    """Write a small TOML config into ``tmp_path`` and return its path."""
    sym = ", ".join(f'"{s}"' for s in symbols)
    text = f"""
[store]
path = "{tmp_path / 'store.duckdb'}"

[source.synthetic]
seed = 11
latency_s = {latency_s}

[ingest]
symbols = [{sym}]
start = {start}
end = {end}

[download]
concurrency = {concurrency}
retry_base_s = 0.0
retry_max_s = 0.0

[sink]
flush_interval_s = 0.2
retry_base_s = 0.0
retry_max_s = 0.01
{extra}
"""
    path = tmp_path / "ghtraderd.toml"
    path.write_text(text)
    return path


def config_obj(path: Path) -> Config:
    from daemon.config import load_config

    return load_config(path)


def run_cli(*args: str, timeout: float = 120, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GHTRADERD, *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=cwd or REPO)


def synthetic(calendar: TradingCalendar | None = None, **kw: Any) -> SyntheticSource:
    return SyntheticSource(calendar or TradingCalendar(), SyntheticConfig(**kw))


D = date.fromisoformat
