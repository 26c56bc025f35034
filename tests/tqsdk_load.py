"""A heavier load for the real tqsdk client: L5 days of realistic size served by the
stand-in server from a process of its own (``bench/tqsdk.py``, ``bench/memory.py``).

Importable by name (``tests.tqsdk_load``) so spawned processes can find ``serve``.
"""

from __future__ import annotations

import multiprocessing as mp
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from daemon.config import Config
from ghtrader_core.sources.tqsdk.source import tq_tick_columns
from tests.tqsdk_server import StandIn, cont_rows, running

CONTRACTS = {"KQ.m@SHFE.cu": "SHFE.cu1909", "KQ.m@SHFE.al": "SHFE.al1909"}
DAYS = [date(2019, 9, 2), date(2019, 9, 3), date(2019, 9, 4), date(2019, 9, 5),
        date(2019, 9, 6), date(2019, 9, 9), date(2019, 9, 10), date(2019, 9, 11),
        date(2019, 9, 12), date(2019, 9, 16)]
NS = 1_000_000_000


def l5_frame(contract: str, days: list[date], ticks: int, seed: int) -> pd.DataFrame:
    """``ticks`` L5 ticks per trading day in TqSdk's columns, 21:00 the evening before to
    15:00 (all inside the trading day), ids running on across days."""
    rng = np.random.default_rng(seed)
    parts = []
    for n, day in enumerate(days):
        start = int(pd.Timestamp(day).tz_localize("Asia/Shanghai").value) - 3 * 3600 * NS
        step = (18 * 3600 * NS) // ticks
        price = 47_000 + np.cumsum(rng.integers(-1, 2, ticks)) * 10.0
        data: dict[str, Any] = {
            "id": np.arange(n * ticks, (n + 1) * ticks, dtype="int64") + 1_000_000,
            "datetime": start + np.arange(ticks, dtype="int64") * step,
            "last_price": price, "highest": price + 50, "lowest": price - 50,
            "average": price, "volume": np.cumsum(rng.integers(0, 20, ticks)).astype("float64"),
            "amount": np.cumsum(rng.integers(0, 20, ticks)) * 47_000.0 * 5,
            "open_interest": 200_000.0 + rng.integers(-500, 500, ticks),
        }
        for i in range(1, 6):
            data[f"bid_price{i}"] = price - 10.0 * i
            data[f"bid_volume{i}"] = rng.integers(1, 200, ticks).astype("float64")
            data[f"ask_price{i}"] = price + 10.0 * i
            data[f"ask_volume{i}"] = rng.integers(1, 200, ticks).astype("float64")
        data["symbol"], data["duration"] = contract, 0
        parts.append(pd.DataFrame(data)[tq_tick_columns(contract)])
    return pd.concat(parts, ignore_index=True)


def serve(conn: Connection, days: list[date], ticks: int) -> None:
    """The stand-in in its own process: builds the frames, pre-encodes them, serves."""
    s = StandIn(
        ticks={c: l5_frame(c, days, ticks, i) for i, c in enumerate(CONTRACTS.values())},
        cont_table={m.split("@")[1]: cont_rows([(date(2019, 8, 1), c)])
                    for m, c in CONTRACTS.items()},
    )
    for contract in CONTRACTS.values():
        s.encoded(contract)
    with running(s):
        conn.send(s.env())
        conn.recv()  # until told to stop


class StandInProcess:
    def __init__(self, days: list[date], ticks: int) -> None:
        ctx = mp.get_context("spawn")
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=serve, args=(theirs, days, ticks), daemon=True)
        self.proc.start()
        self.env: dict[str, str] = self.conn.recv()

    def stop(self) -> None:
        self.conn.send(None)
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()


def tq_config(tmp: Path, days: list[date], concurrency: int, **tqsdk: Any) -> Config:
    return Config(
        store={"path": tmp / "store.duckdb"},
        source={"kind": "tqsdk", "tqsdk": {"max_apis": max(concurrency, 1),
                                           "cache_dir": tmp / "cache", **tqsdk}},
        ingest={"symbols": list(CONTRACTS), "start": days[0], "end": days[-1]},
        download={"concurrency": concurrency, "retry_attempts": 2},
        daemon={"state_dir": tmp},
        log={"level": "warning"},
    )


