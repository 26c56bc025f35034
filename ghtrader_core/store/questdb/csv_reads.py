"""Tick ranges through QuestDB's HTTP ``/exp`` CSV export, parsed into columns by pyarrow.

Why not PGWire for ticks: asyncpg turns every value into a Python object (a ``Record`` of
them per row) before anything can build a column from it; on the 2-core test machine
that alone capped a read at about 180 k rows/s of a 30-column L5 tick, and building
numpy columns from the objects costs as much again. ``/exp`` has the server format the
rows and pyarrow's C++ CSV reader parse them as they arrive (the download and the parse
overlap in one streaming read on a worker thread), so no per-value Python object exists.

Exactness: QuestDB prints a DOUBLE as the shortest text that reads back to the same
bits, and NULL (which is also what NaN and +-inf become when stored) as an empty field,
read back as NaN, the same as PGWire's ``None`` (``tests/test_read_questdb.py`` compares
both paths value for value). Integers (``id``, ``ts``, the trading day) travel as LONG.

The statement is a registered ``Sql`` rendered with its arguments as literals, exactly
as the parser check renders it, so nothing unparsed reaches the server here either. A
truncated body (the server failing mid-way) ends the chunked transfer early:
``http.client`` raises, never a short frame.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import urllib.parse
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv

from ghtrader_core.errors import PermanentError, StoreUnavailableError
from ghtrader_core.store.questdb.errors import QuestDBAuthRefusedError, describe
from ghtrader_core.store.questdb.ilp import IlpSettings
from ghtrader_core.store.questdb.sql import Sql

ARROW_TYPES = {"int64": pa.int64(), "float64": pa.float64()}
BLOCK_BYTES = 4 << 20  # pyarrow parses blocks of this size in parallel as they arrive


def _connection(settings: IlpSettings, timeout_s: float) -> http.client.HTTPConnection:
    if settings.tls:
        return http.client.HTTPSConnection(
            settings.host, settings.port, timeout=timeout_s, context=ssl.create_default_context()
        )
    return http.client.HTTPConnection(settings.host, settings.port, timeout=timeout_s)


def _headers(settings: IlpSettings) -> dict[str, str]:
    if settings.username and settings.password:
        token = base64.b64encode(f"{settings.username}:{settings.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return {}


def _refusal(status: int, body: bytes, sql: Sql) -> Exception:
    try:
        message = str(json.loads(body).get("error") or body[:500].decode(errors="replace"))
    except (ValueError, AttributeError):
        message = body[:500].decode(errors="replace")
    if status in (401, 403):
        return QuestDBAuthRefusedError(f"QuestDB refused the export of {sql.name}: {message}")
    if 400 <= status < 500:
        return PermanentError(f"QuestDB refused {sql.name} (HTTP {status}): {message}")
    return StoreUnavailableError(f"QuestDB failed {sql.name} (HTTP {status}): {message}")


def export_table(
    settings: IlpSettings,
    sql: Sql,
    args: tuple[Any, ...],
    types: Mapping[str, str],
    timeout_s: float,
) -> pa.Table:
    """The rows of ``sql`` with ``args`` as an Arrow table whose columns are ``types``
    (name -> ``int64``/``float64``, in the statement's order). Blocking: run it on a
    worker thread. ``timeout_s`` bounds every wait for the server (connect, each read)."""
    target = "/exp?" + urllib.parse.urlencode({"query": sql.render(args)})
    conn = _connection(settings, timeout_s)
    try:
        try:
            conn.request("GET", target, headers=_headers(settings))
            response = conn.getresponse()
            if response.status != 200:
                raise _refusal(response.status, response.read(), sql)
            table = pa_csv.read_csv(
                response,
                read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES),
                convert_options=pa_csv.ConvertOptions(
                    column_types={n: ARROW_TYPES[t] for n, t in types.items()},
                    include_columns=list(types),
                ),
            )
        except (OSError, http.client.HTTPException) as exc:
            raise StoreUnavailableError(
                f"QuestDB does not answer ({sql.name} over HTTP /exp): {describe(exc)}"
            ) from exc
        except pa.ArrowInvalid as exc:
            raise PermanentError(f"QuestDB's export of {sql.name} is not readable: {exc}") from exc
    finally:
        conn.close()
    if table.column_names != list(types):
        raise PermanentError(
            f"QuestDB's export of {sql.name} has columns {table.column_names}, "
            f"expected {list(types)}"
        )
    return table
