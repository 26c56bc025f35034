"""The core's error classes: every adapter says what kind of failure it saw, nothing more.

Sources and stores raise these; the daemon decides from the class alone what to do:

=========================  ===========================================  ====================
class                      meaning                                      the daemon
=========================  ===========================================  ====================
``RetryableError``         transient: a time-out, a lost connection     retry with backoff
``MaintenanceError``       the provider's maintenance window            wait it out
``PermanentError``         this one day will never succeed as asked     dead-letter the day
``StoreWriteError``        the store cannot write right now (disk       retry without
                           full, unwritable file): never a day's fault  blaming a day
``StoreUnavailableError``  the store does not answer                    retry; 75 at start
``SourceUnavailableError`` the source does not answer                   retry; 75 at the end
``StorePathError``         the store cannot be created or written       stop, 73
``StoreCorruptError``      the store's files are damaged                stop, 73
``StoreLockedError``       another process owns the store               stop, 75
``AuthError``              credentials refused or missing               stop, 77
``ConfigInvalidError``     the configuration cannot work                stop, 78
``FatalError``             anything else this process cannot cure       stop, 77
=========================  ===========================================  ====================

The process exit code of each class is in one table, ``daemon.exitcodes.CLASS_CODES``,
looked up along the class's MRO: an adapter's subclass gets its base's code, so no class
here (or in an adapter) carries a code of its own.

**Errors no adapter classified** (a ``KeyError``, a ``TypeError``...) are treated the
same everywhere: inside a unit of work (one day's download, one day's write) they count
as *permanent for that unit* — the day is dead-lettered with the error's type and text
and retried by the next run, never retried in a tight loop; at the process level they are
a *bug*: one line that says so and where to report it (``daemon.errors_exit``).
Connection-level ``OSError``\\ s are transient (``is_transient``).
"""

from __future__ import annotations


class GhtraderError(Exception):
    """Base of the errors the daemon classifies."""


class RetryableError(GhtraderError):
    """Transient: a time-out, a lost connection, a store that is briefly down."""


TransientError = RetryableError  # the scheme's name for it; both spellings are the class


class MaintenanceError(RetryableError):
    """The provider is in a maintenance window: wait ``wait_s`` before trying again."""

    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class PermanentError(GhtraderError):
    """Will never succeed as asked: an unknown symbol, a value the store rejects."""


class FatalError(GhtraderError):
    """Nothing more can be done by this process: bad credentials, no permission."""


class StoreUnavailableError(RetryableError):
    """The store does not answer; at start this is 'retry later' (EX_TEMPFAIL)."""


class StoreWriteError(RetryableError):
    """The store cannot write *now* (disk full, a file turned unwritable). Retried with
    backoff and never recorded against a day; the store raises ``StorePathError`` once it
    has stayed so past its bound."""


class SourceUnavailableError(RetryableError):
    """The source does not answer (network, server down): retry later (EX_TEMPFAIL)."""


class OutputPathError(FatalError):
    """A file or directory this process must create or write cannot be (EX_CANTCREAT):
    the store's, or an export's."""


class StorePathError(OutputPathError):
    """The store's file cannot be created or opened for writing (EX_CANTCREAT)."""


class StoreCorruptError(StorePathError):
    """The store's files are damaged (a checksum mismatch): restore or rebuild it."""


class StoreMissingError(StorePathError):
    """A read-only command named a store that does not exist; it is not created."""


class StoreLockedError(FatalError):
    """Another process already owns this store: one daemon per store."""


class AuthError(FatalError):
    """Credentials refused by the server, or missing: a restart will not cure it."""


class ConfigInvalidError(FatalError):
    """The configuration cannot work (a replay directory that does not exist, a metrics
    address in use): fix the file, do not restart in a loop."""


class UsageError(GhtraderError):
    """A command line that asks for something impossible (an absurd date)."""


_TRANSIENT_OS = (ConnectionError, TimeoutError)


def is_transient(exc: BaseException) -> bool:
    """The one answer to "may this be retried?" for an error of any origin."""
    return isinstance(exc, RetryableError | _TRANSIENT_OS)


class SourceDownError(FatalError):
    """The source stayed unavailable (or its main-contract schedule could not be fetched)
    through a whole retry budget: stop with EX_TEMPFAIL, which systemd may retry later;
    no day is blamed."""


def source_down(exc: BaseException, what: str) -> SourceDownError:
    """The error that ends a run whose source stayed unavailable while fetching ``what``."""
    return SourceDownError(f"{what}: {exc}")


class AuthRefusedError(FatalError):
    """A server refused our credentials (whatever code it said it with): exit 77."""
