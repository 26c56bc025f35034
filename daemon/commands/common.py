"""What every command shares: loading config, opening the store, running on uvloop."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import anyio

from daemon.config import Config, load_config
from daemon.factory import build_store
from daemon.logs import configure_logging
from ghtrader_core.store.base import Store


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", required=True, help="TOML config file")


FIRST_YEAR, LAST_YEAR = 1990, 2100  # futures tick data exists in between; beyond is a typo


def day_arg(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{text}: outside the years {FIRST_YEAR}..{LAST_YEAR} that can hold ticks"
        )
    return day


def load(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config)
    configure_logging(cfg.log.level, cfg.log.format)
    return cfg


def run(fn: Callable[[], Awaitable[int]]) -> int:
    """Run a command's coroutine on one event loop (uvloop where available)."""
    try:
        import uvloop  # noqa: F401

        options: dict[str, Any] = {"use_uvloop": True}
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        options = {}
    return anyio.run(fn, backend_options=options)


@asynccontextmanager
async def opened_store(cfg: Config, *, read_only: bool = False) -> AsyncIterator[Store]:
    """The configured store, open; ``read_only`` commands never create one (exit 73)."""
    store = build_store(cfg, read_only=read_only)
    await store.open()
    try:
        yield store
    finally:
        with anyio.CancelScope(shield=True):
            await store.close()


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, r in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if n and c[:1].isdigit() else c.ljust(w)
                for c, w in zip(r, widths, strict=True)
            ).rstrip()
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
