"""The DuckDB store as a registered backend. Its settings are ``[store] path`` and
``unwritable_timeout_s`` (at the section's top level, as before); failures are classified
in ``connection``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from ghtrader_core.backends import Backend, BuildContext, register
from ghtrader_core.errors import GhtraderError
from ghtrader_core.store.duckdb.connection import classify
from ghtrader_core.store.duckdb.store import DuckDBStore


def build(section: Any, ctx: BuildContext) -> DuckDBStore:
    return DuckDBStore(
        section.path,
        unwritable_timeout_s=section.unwritable_timeout_s,
        must_exist=ctx.read_only,
        memory_limit_mb=section.duckdb_memory_limit_mb,
        threads=section.duckdb_threads,
        clock=ctx.clock,
    )


def classify_error(exc: BaseException) -> GhtraderError | None:
    if not isinstance(exc, duckdb.Error):
        return None
    return classify(exc, Path("the DuckDB store"))


BACKEND = register(Backend("duckdb", "store", build, classify=classify_error))
