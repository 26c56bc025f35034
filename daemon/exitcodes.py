"""Process exit codes (sysexits.h where one fits): the one table, and which error class
ends in which code.

The README's "Exit codes" table is rendered from ``TABLE`` (a test compares them), and
``daemon.errors_exit`` turns an exception into its code and one line through
``CLASS_CODES``. systemd's ``RestartPreventExitStatus=`` (``systemd/ghtraderd.service``)
is ``restart_prevented()``: every code whose ``restart`` is False here, but 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.config import ConfigError
from daemon.planner import PlanError
from ghtrader_core.errors import (
    AuthError,
    ConfigInvalidError,
    FatalError,
    OutputPathError,
    PermanentError,
    RetryableError,
    SourceDownError,
    StoreLockedError,
    StoreUnavailableError,
    StoreWriteError,
    UsageError,
)
from ghtrader_core.symbols import SymbolError

OK = 0
DAYS_FAILED = 1  # ran to the end, but some symbol-days failed (see failed_days)
USAGE = 2  # bad command line, malformed symbol, a range without trading days
BUG = 70  # EX_SOFTWARE: an error nobody classified, i.e. a defect of ghtraderd
CANTCREAT = 73  # the store cannot be created, written or read
TEMPFAIL = 75  # store or source unreachable, or store locked: retry later
NOPERM = 77  # authentication or permission refused: do not restart in a loop
CONFIG = 78  # the config cannot work
INTERRUPTED = 130  # stopped by SIGINT/SIGTERM before the plan was done; rerun finishes it


@dataclass(frozen=True)
class ExitCode:
    code: int
    meaning: str
    restart: bool  # may a systemd restart cure it?


TABLE: tuple[ExitCode, ...] = (
    ExitCode(OK, "done", False),
    ExitCode(
        DAYS_FAILED,
        "ran to the end, but some symbol-days failed (listed by `ghtraderd failed`; the next "
        "run retries them); `validate`: a re-validated day is `fail`",
        False,
    ),
    ExitCode(
        USAGE,
        "bad command line: malformed or unknown symbol, absurd date, a range with no trading "
        "day, a symbol the source does not know",
        False,
    ),
    ExitCode(
        BUG,
        "an internal error (a bug): one line says where to report it and where the traceback "
        "was saved",
        True,
    ),
    ExitCode(
        CANTCREAT,
        "the store cannot be created, written or read: path not writable, disk full or "
        "unwritable past `store.unwritable_timeout_s`, damaged files, or (read-only commands) "
        "no store at that path",
        False,
    ),
    ExitCode(
        TEMPFAIL,
        "the store or the source is unreachable, or another instance holds the store: retry "
        "later",
        True,
    ),
    ExitCode(
        NOPERM,
        "authentication or permission refused, or a required password missing (do not "
        "restart in a loop)",
        False,
    ),
    ExitCode(
        CONFIG,
        "the config cannot work: invalid file (the message names file, key, value and what "
        "is allowed), a replay directory that does not exist, the metrics address in use, a "
        "QuestDB schema that conflicts with ours",
        False,
    ),
    ExitCode(INTERRUPTED, "interrupted by SIGINT/SIGTERM before the plan was done: rerun to "
             "finish", False),
)

# Error class -> exit code: the only place a class gets a code. The most specific class
# wins, looked up along the MRO, so an adapter's subclass (QuestDBSchemaError is a
# ConfigInvalidError, ExportPathError an OutputPathError) takes its base's code.
CLASS_CODES: dict[type[BaseException], int] = {
    ConfigError: CONFIG,
    ConfigInvalidError: CONFIG,
    PlanError: USAGE,
    SymbolError: USAGE,
    UsageError: USAGE,
    PermanentError: USAGE,
    OutputPathError: CANTCREAT,  # StorePathError, StoreCorruptError, ExportPathError
    StoreWriteError: CANTCREAT,
    StoreLockedError: TEMPFAIL,
    SourceDownError: TEMPFAIL,
    StoreUnavailableError: TEMPFAIL,
    RetryableError: TEMPFAIL,
    AuthError: NOPERM,
    FatalError: NOPERM,
    KeyboardInterrupt: INTERRUPTED,
}


def code_for(exc: BaseException) -> int:
    """The exit code of an error's class; ``BUG`` for a class nobody classified."""
    for cls in type(exc).__mro__:
        if cls in CLASS_CODES:
            return CLASS_CODES[cls]
    return BUG


def restart_prevented() -> str:
    """The unit's ``RestartPreventExitStatus=`` value (a test keeps the unit equal)."""
    return " ".join(str(row.code) for row in TABLE if not row.restart and row.code != OK)


def markdown_table() -> str:
    """The README's "Exit codes" table, rendered from ``TABLE`` (a test keeps them equal)."""
    lines = ["| code | meaning | systemd restarts |", "| --- | --- | --- |"]
    for row in TABLE:
        lines.append(f"| {row.code} | {row.meaning} | {'yes' if row.restart else 'no'} |")
    return "\n".join(lines)
