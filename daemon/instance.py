"""One daemon per store: an advisory lock file in the state directory, holding the pid.

The store's own lock (DuckDB's file lock) would refuse a second writer too, but only a
store that has one, and with a message that does not name the other process. This lock
is taken before the store is opened, is released by the kernel when the process dies
(``flock``), so a crash never leaves a stale lock, and says which pid holds it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path
from types import TracebackType

from pydantic import BaseModel

from ghtrader_core.errors import StoreLockedError, StorePathError


def store_key(store: BaseModel) -> str:
    """A short, stable name for the store a config points at (paths made absolute)."""
    fields = {
        k: str(Path(v).resolve()) if isinstance(v, Path) else v for k, v in store if k
    }
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class InstanceLock:
    """``with InstanceLock(path):`` holds the lock for the life of the block."""

    def __init__(self, path: Path, *, describe: str) -> None:
        self.path = path
        self.describe = describe  # the store, for the message
        self._fd: int | None = None

    @classmethod
    def for_store(cls, state_dir: Path, store: BaseModel) -> InstanceLock:
        key = store_key(store)
        paths = [str(Path(v).resolve()) for _, v in store if isinstance(v, Path)]
        kind = getattr(store, "kind", "store")
        return cls(
            state_dir / f"ghtraderd-{key}.lock",
            describe=f"{kind} {' '.join(paths) or key}",
        )

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StorePathError(f"cannot create lock file {self.path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreLockedError(
                f"another ghtraderd (pid {other}) is already running on this store "
                f"({self.describe}); lock file {self.path}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
