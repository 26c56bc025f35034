"""Errors as values with a class: retryable, permanent or fatal.

Sources and stores raise these; the daemon's one retry policy decides from the class alone
what to do: retry with backoff (``RetryableError``), wait out a maintenance window
(``MaintenanceError``), record the day and go on (``PermanentError``), or stop the process
with an exit code systemd will not restart in a loop (``FatalError``).
"""

from __future__ import annotations


class GhtraderError(Exception):
    """Base of the errors the daemon classifies."""


class RetryableError(GhtraderError):
    """Transient: a time-out, a lost connection, a store that is briefly down."""


class MaintenanceError(RetryableError):
    """The provider is in a maintenance window: wait ``wait_s`` before trying again."""

    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class PermanentError(GhtraderError):
    """Will never succeed as asked: an unknown symbol, a value the store rejects."""


class FatalError(GhtraderError):
    """Nothing more can be done by this process: bad credentials, no permission."""

    exit_code = 77  # EX_NOPERM


class StoreUnavailableError(RetryableError):
    """The store does not answer; at start this is 'retry later' (EX_TEMPFAIL)."""

    exit_code = 75


class StorePathError(FatalError):
    """The store's file cannot be created or opened for writing (EX_CANTCREAT)."""

    exit_code = 73


class StoreLockedError(FatalError):
    """Another process already owns this store: one daemon per store."""

    exit_code = 75  # EX_TEMPFAIL: may succeed once the other instance is gone


class AuthRefusedError(FatalError):
    """A server refused our credentials (whatever code it said it with): exit 77."""
