"""The DuckDB connection: one at a time, in a worker thread, and every failure classified.

DuckDB connections are not meant for concurrent use, so every call runs in a worker thread
under a limiter of one (the only guard: calls are serialised, the event loop never
blocks). Failures are sorted into the core's classes here, so the rest of the store is SQL:

- the disk is full, a file turned unwritable or read-only, the connection was invalidated:
  ``StoreWriteError`` — the store's fault, never a day's; retried by the caller with
  backoff, the connection re-opened on the next call. Once the store has stayed so for
  ``unwritable_timeout_s`` it is ``StorePathError`` (exit 73) with the reason;
- a block fails its checksum: ``StoreCorruptError`` (exit 73);
- the file is locked by another process: ``StoreLockedError`` (exit 75);
- anything else DuckDB refuses (a constraint, a conversion): ``PermanentError``, which is
  about the data asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

import anyio
import duckdb
import structlog

from ghtrader_core.errors import (
    GhtraderError,
    PermanentError,
    StoreCorruptError,
    StoreLockedError,
    StoreMissingError,
    StorePathError,
    StoreUnavailableError,
    StoreWriteError,
)

T = TypeVar("T")
log = structlog.get_logger("ghtraderd.duckdb")

# Texts of the OS errors DuckDB wraps: the store cannot write, whatever is being written.
_UNWRITABLE = (
    "no space left",
    "disk quota",
    "file too large",
    "read-only file system",
    "permission denied",
    "could not write",
    "could not truncate",
    "could not fsync",
    "could not open file",
    "has been invalidated",
    "input/output error",
    # under its memory_limit DuckDB spills to its temp directory; a full disk stops that
    "failed to offload",
)
_CORRUPT = ("corrupt database", "checksum")


def classify(exc: BaseException, path: Path) -> GhtraderError:
    """The core's class for an error DuckDB (or the OS under it) raised."""
    if isinstance(exc, GhtraderError):
        return exc
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = str(exc).lower()
    if any(m in low for m in _CORRUPT):
        return StoreCorruptError(
            f"store {path} is damaged ({text}); restore it from a backup or move it away and "
            "backfill again"
        )
    if "lock" in low and "conflicting lock" in low:
        return StoreLockedError(
            f"store {path} is in use by another process (one ghtraderd per store): {text}"
        )
    if isinstance(exc, OSError | duckdb.IOException) or any(m in low for m in _UNWRITABLE):
        return StoreWriteError(f"store {path} cannot write: {text}")
    return PermanentError(f"store {path} refused: {text}")


class Connection:
    """The store's one connection, its guard and the bound on being unwritable."""

    def __init__(
        self,
        path: Path,
        ddl: tuple[str, ...],
        *,
        unwritable_timeout_s: float,
        must_exist: bool = False,
        clock: Callable[[], float] = time.monotonic,
        settings: Mapping[str, str | int] | None = None,
    ) -> None:
        self.settings: dict[str, str | bool | int | float | list[str]] = dict(settings or {})
        self.path = path
        self.ddl = ddl
        self.unwritable_timeout_s = unwritable_timeout_s
        self.must_exist = must_exist
        self.clock = clock
        self._con: duckdb.DuckDBPyConnection | None = None
        self._opened = False
        self._limiter = anyio.CapacityLimiter(1)
        self._unwritable_since: float | None = None

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self.must_exist and not self.path.exists():
            raise StoreMissingError(
                f"no store at {self.path} (store.path); read-only commands never create one"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(self.path), config=self.settings)
        except PermissionError as exc:
            raise StorePathError(f"store path {self.path} is not writable: {exc}") from exc
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                raise StoreLockedError(
                    f"store {self.path} is in use by another process (one ghtraderd per "
                    f"store): {text}"
                ) from exc
            raise StorePathError(f"cannot open store {self.path}: {text}") from exc
        except OSError as exc:
            raise StorePathError(f"store path {self.path} is not usable: {exc}") from exc
        except duckdb.Error as exc:
            raise classify(exc, self.path) from exc
        try:
            for stmt in self.ddl:
                con.execute(stmt)
        except duckdb.Error as exc:
            con.close()
            raise classify(exc, self.path) from exc
        return con

    async def open(self) -> None:
        def connect() -> None:
            self._con = self._connect()
            self._opened = True

        await anyio.to_thread.run_sync(connect, limiter=self._limiter)

    async def close(self) -> None:
        def shut() -> None:
            self._opened = False
            if self._con is not None:
                con, self._con = self._con, None
                try:
                    con.close()  # checkpoints the WAL; without room it stays, still durable
                except duckdb.Error as exc:
                    log.warning("store_close_failed", path=str(self.path), error=str(exc))

        await anyio.to_thread.run_sync(shut, limiter=self._limiter)

    async def run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        def call() -> T:
            if not self._opened:
                raise StoreUnavailableError(f"store {self.path} is not open")
            try:
                if self._con is None:  # dropped after a store-level failure
                    self._con = self._connect()
                result = fn(self._con)
            except Exception as exc:
                raise self._failed(exc) from exc
            if self._unwritable_since is not None:
                log.info("store_writable_again", path=str(self.path))
                self._unwritable_since = None
            return result

        return await anyio.to_thread.run_sync(call, limiter=self._limiter)

    def _failed(self, exc: Exception) -> GhtraderError:
        error = classify(exc, self.path)
        if not isinstance(error, StoreWriteError):
            return error
        # Start afresh on the next call: DuckDB may have invalidated this connection.
        if self._con is not None:
            with suppress(Exception):
                self._con.close()
            self._con = None
        now = self.clock()
        if self._unwritable_since is None:
            self._unwritable_since = now
            log.error(
                "store_unwritable",
                path=str(self.path),
                error=str(error),
                gives_up_after_s=self.unwritable_timeout_s,
            )
        elif now - self._unwritable_since > self.unwritable_timeout_s:
            return StorePathError(
                f"store {self.path} has not been writable for "
                f"{now - self._unwritable_since:.0f} s (store.unwritable_timeout_s = "
                f"{self.unwritable_timeout_s:g}): {str(error).split(': ', 1)[-1]}; free space "
                "or fix the file's permissions, then rerun (nothing durable was lost)"
            )
        return error


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB transaction: committed when the block ends, rolled back on any error.

    A failed rollback (the transaction is already gone, e.g. after a failed commit) must
    not hide the error that caused it."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        with suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
