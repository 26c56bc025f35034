"""The one place an exception (or a task group's exception group) becomes an exit code and
one readable line.

Every command and the daemon end through ``exit_line``. A classified error prints one
sentence naming what failed and what to do. An error nobody classified is a bug: one line
says so and where to report it; its traceback is saved to a file named in that line (and
printed too when ``GHTRADERD_DEBUG=1``), never dumped on a user by default.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from pathlib import Path

from daemon import exitcodes
from daemon.config import ConfigError
from ghtrader_core import backends
from ghtrader_core.errors import (
    RetryableError,
    SourceDownError,
    SourceUnavailableError,
    StoreUnavailableError,
)

# Where a bug is reported: the project has no public tracker address, so the one line
# points at the README's "Reporting a bug" section, which says what to send and where
# (tests/test_exitcodes.py checks the section exists).
REPORT_URL = "README.md#reporting-a-bug"
DEBUG_ENV = "GHTRADERD_DEBUG"


def unwrap(exc: BaseException) -> BaseException:
    """The error that matters inside (nested) exception groups: the first leaf with a
    documented exit code, else the first leaf. Cancellation wrappers are skipped."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending:
        e = pending.pop(0)
        if isinstance(e, BaseExceptionGroup):
            pending[:0] = list(e.exceptions)
        else:
            leaves.append(e)
    for leaf in leaves:
        if exitcodes.code_for(leaf) != exitcodes.BUG:
            return leaf
    return leaves[0] if leaves else exc


def _sentence(text: str) -> str:
    """One line: newlines folded, so the last line of stderr is the whole message."""
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def describe(exc: BaseException) -> tuple[int, str]:
    """(exit code, message) for an error that reached the top of a command."""
    leaf = unwrap(exc)
    code = exitcodes.code_for(leaf)
    if code == exitcodes.BUG and isinstance(leaf, Exception):
        known = backends.classify(leaf)  # a library error that escaped its adapter
        if known is not None:
            leaf, code = known, exitcodes.code_for(known)
    if isinstance(leaf, ConfigError):
        # one line per problem (file, key, value, what is allowed); the last is a sentence
        return code, f"ghtraderd: invalid config:\n{leaf}"
    if isinstance(leaf, BrokenPipeError):  # the reader went away (`| head`): not an error
        return exitcodes.OK, ""
    if isinstance(leaf, KeyboardInterrupt):
        return code, "ghtraderd: interrupted: rerun to finish (nothing durable was lost)"
    text = _sentence(str(leaf)) or type(leaf).__name__
    if code == exitcodes.BUG:
        saved = _save_traceback(exc)
        where = f"; traceback saved to {saved}" if saved else ""
        return code, (
            f"ghtraderd: internal error (a bug in ghtraderd, to report it see {REPORT_URL}"
            f"{where}): {type(leaf).__name__}: {text}"
        )
    if isinstance(leaf, StoreUnavailableError):
        return code, f"ghtraderd: store unavailable, retry later: {text}"
    if isinstance(leaf, SourceUnavailableError | SourceDownError):
        return code, f"FAILED: source unavailable, retry later: {text}"
    if isinstance(leaf, RetryableError):
        return code, f"FAILED: gave up after retries, retry later: {text}"
    return code, f"ghtraderd: {text}"


def exit_line(exc: BaseException) -> int:
    """Print the one line for ``exc`` on stderr and return its exit code."""
    code, message = describe(exc)
    if not message:  # stdout is gone: say nothing, and keep the exit from flushing into it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return code
    if code == exitcodes.BUG and os.environ.get(DEBUG_ENV):
        traceback.print_exception(exc, file=sys.stderr)
    sys.stdout.flush()
    print(message, file=sys.stderr, flush=True)
    return code


def _save_traceback(exc: BaseException) -> Path | None:
    try:
        fd, name = tempfile.mkstemp(prefix=f"ghtraderd-bug-{os.getpid()}-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(traceback.format_exception(exc)))
        return Path(name)
    except OSError:
        return None
