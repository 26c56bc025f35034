"""What a QuestDB client error means for the daemon: retry, record the day, or stop.

Both clients are classified here, from what they say in structured form, never from a
phrase in the text:

- ILP/HTTP (``questdb``): the client's ``QuestDBErrorCode``; for ``ServerFlushError``
  the server's JSON answer (``{"code":"invalid","message":...}``), whose ``code`` says
  what HTTP status it came with ("invalid" is a 400: the rows are wrong and will be
  wrong again; "internal error" a 500). Only a body that is not JSON (a proxy's page)
  falls back to the client's ``http-status=NNN``.
- PGWire (``asyncpg``): the exception class; and at connect time any refusal the server
  answers with before the session starts. QuestDB refuses a wrong password with SQLSTATE
  ``00000`` (asyncpg's ``UnknownPostgresError("invalid username/password")``), so the
  SQLSTATE cannot tell it apart: the phase can.

A refused login is ``QuestDBAuthRefusedError`` (exit 77: restarting cannot cure it).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import asyncpg

from ghtrader_core.errors import (
    AuthRefusedError,
    GhtraderError,
    PermanentError,
    RetryableError,
    StoreUnavailableError,
)


class QuestDBAuthRefusedError(AuthRefusedError):
    """QuestDB refused ghtraderd's credentials (PGWire login or ILP/HTTP basic auth)."""


def describe(exc: BaseException) -> str:
    """``str(exc)``, or the type and repr when that is empty (a bare ``TimeoutError``)."""
    text = str(exc).strip()
    return text if text else f"{type(exc).__name__}: {exc!r}"


# -- ILP over HTTP -------------------------------------------------------------------------

_FATAL_CODES = {"AuthError", "TlsError", "HttpNotSupported", "UnsupportedServer", "ConfigError"}
_FATAL_CODES |= {"ServerSecurityError", "RoleMismatch"}
_PERMANENT_CODES = {
    "InvalidApiCall",
    "InvalidUtf8",
    "InvalidName",
    "InvalidTimestamp",
    "ArrayError",
    "DecimalError",
    "ProtocolVersionError",
    "ArrowUnsupportedColumnKind",
    "ArrowIngest",
    "ServerSchemaMismatch",
    "ServerParseError",
    "ServerRejection",
    "BadDataFrame",
    "BatchTooLarge",
    "SymbolDictFull",
    "ServerLimitExceeded",
    "LimitExceeded",
}
# The ``code`` of QuestDB's JSON error answer to an ILP/HTTP request, by meaning.
# "invalid": a line it cannot parse, a cast it refuses, a table or column it may not
# create (HTTP 400/415); "request too large": this batch will never fit (413; the sink
# then retries day by day). Anything else ("internal error", a code a later server adds)
# is treated as transient: the batch is kept and re-sent, never dropped.
_SERVER_PERMANENT = {"invalid", "request too large"}
_SERVER_FATAL = {"unauthorized", "forbidden"}
_HTTP_STATUS = re.compile(r"http-status=(\d{3})")
_RETRYABLE_STATUS = {408, 425, 429}


def server_answer(message: str) -> dict[str, Any] | None:
    """The JSON object QuestDB answered a flush with, if the message carries one."""
    start = message.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(message[start:])
    except ValueError:
        return None
    return value if isinstance(value, dict) and "code" in value else None


def classify(exc: BaseException) -> GhtraderError:
    """The class of an ILP client error. Unknown errors are retryable: the sink then
    keeps the batch instead of dropping it."""
    if isinstance(exc, GhtraderError):
        return exc
    code = str(getattr(getattr(exc, "code", None), "name", "") or "")
    message = describe(exc)
    if code in _FATAL_CODES:
        return QuestDBAuthRefusedError(f"QuestDB refused the ILP writer ({code}): {message}")
    answer = server_answer(message) if code in ("ServerFlushError", "") else None
    if answer is not None:
        kind = str(answer.get("code", ""))
        said = str(answer.get("message", message)).replace("\n", " ")
        if kind in _SERVER_FATAL:
            return QuestDBAuthRefusedError(f"QuestDB refused the ILP writer ({kind}): {said}")
        if kind in _SERVER_PERMANENT:
            return PermanentError(f"QuestDB rejected the rows ({kind}): {said}")
        return RetryableError(f"QuestDB ILP flush failed ({kind or 'no code'}): {said}")
    match = _HTTP_STATUS.search(message) if code == "ServerFlushError" else None
    if match:  # not QuestDB's JSON (e.g. a proxy in between): the status is all there is
        status = int(match.group(1))
        if status in (401, 403):
            return QuestDBAuthRefusedError(f"QuestDB refused the ILP writer (HTTP {status})")
        if status in _RETRYABLE_STATUS or status >= 500:
            return RetryableError(f"QuestDB ILP flush failed (HTTP {status}): {message}")
        return PermanentError(f"QuestDB rejected the rows (HTTP {status}): {message}")
    if code in _PERMANENT_CODES or isinstance(exc, ValueError | TypeError):
        return PermanentError(f"QuestDB ILP client refused the rows ({code}): {message}")
    return RetryableError(f"QuestDB ILP flush failed ({code or type(exc).__name__}): {message}")


# -- PGWire --------------------------------------------------------------------------------

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
)
_REFUSED: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.InvalidPasswordError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.InsufficientPrivilegeError,
)


def classify_pg(exc: BaseException, what: str, *, connecting: bool = False) -> Exception:
    """The class of an asyncpg error. ``connecting``: raised while logging in, where a
    server error (whatever its SQLSTATE) is the server refusing us."""
    if isinstance(exc, _REFUSED) or (
        connecting
        and isinstance(exc, asyncpg.PostgresError)
        and not isinstance(exc, _UNAVAILABLE)
    ):
        return QuestDBAuthRefusedError(f"QuestDB refused {what}: {describe(exc)}")
    if isinstance(exc, _UNAVAILABLE):
        return StoreUnavailableError(f"QuestDB does not answer ({what}): {describe(exc)}")
    if isinstance(exc, asyncpg.PostgresError):
        return PermanentError(f"QuestDB refused {what}: {describe(exc)}")
    return StoreUnavailableError(f"QuestDB call failed ({what}): {type(exc).__name__}: {exc}")
