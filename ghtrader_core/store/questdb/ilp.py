"""Writes over ILP/HTTP: frames in, one buffer and one flush per batch, errors classified.

Why it looks like this:
- One long-lived ``Sender`` per worker thread. A ``Sender`` is not thread-safe, and a new
  HTTP connection per day was a known weakness of the predecessor. The writer owns a
  small thread pool (its size is the thread limit); each thread makes its sender on first
  use and keeps it, so a sender is never touched by two threads.
- Auto-flush is off and each batch is encoded into one explicit ``Buffer`` and flushed
  once: the batch is the unit of retry, and a buffer that was flushed half-way by an
  auto-flush could not be retried as a whole.
- Rows are sorted by timestamp across the whole batch (days come in ascending order from
  the sink; several symbols of one day interleave), so QuestDB applies an append rather
  than an out-of-order merge inside the batch.
- ILP protocol version 2 (binary doubles, nanosecond timestamps): it is required to keep
  ``TIMESTAMP_NS`` exact, and measured ~4.5x faster to encode than version 1 text for a
  27-column L5 frame (``bench/sink.py``).
- Errors (``questdb.errors.classify``): a flush that may succeed later (connection,
  time-out, a server error) becomes ``RetryableError`` and the thread's sender is
  replaced; one that never will (the server's ``"code":"invalid"``: a bad value or a
  schema mismatch; a frame the client refuses) becomes ``PermanentError`` carrying the
  server's message; refused credentials a ``FatalError``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import questdb

from ghtrader_core.errors import GhtraderError, RetryableError
from ghtrader_core.store.questdb.errors import classify as classify  # re-exported
from ghtrader_core.ticks import FLOAT_COLUMNS

log = logging.getLogger("ghtraderd.questdb")

try:  # questdb 6.0 keeps Buffer out of the top-level namespace; later versions may not
    from questdb import Buffer  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the installed client
    from questdb._client import Buffer

QuestDBError = questdb.QuestDBError


def new_buffer(protocol_version: int, init_buf_size: int = 1 << 20) -> Any:
    """An empty ILP buffer of ``protocol_version`` (the sender is configured to match)."""
    return Buffer(protocol_version=protocol_version, init_buf_size=init_buf_size)


# -- frames ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IlpFrame:
    """One table's rows, ready for ``Buffer.dataframe``."""

    table: str
    frame: pd.DataFrame
    symbols: tuple[str, ...]
    at: str

    @property
    def rows(self) -> int:
        return len(self.frame)


TICK_SYMBOLS = ("symbol", "contract")


class Scratch:
    """Column arrays reused from batch to batch by one writer thread.

    Building a batch's frame copies every column twice (concatenate the days, gather in
    timestamp order); into fresh arrays that cost 5-13% of the encode, mostly page
    faults, into reused ones under 5%. A writer thread holds one (about 32 columns x
    the largest batch's rows x 8 bytes) and a frame built in it lives only until the
    same thread has encoded it.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, key: str, n: int, dtype: str) -> np.ndarray:
        have = self._arrays.get(key)
        if have is None or len(have) < n or have.dtype != np.dtype(dtype):
            have = self._arrays[key] = np.empty(n + n // 4, dtype=dtype)
        return have[:n]

    def concat(self, key: str, parts: Sequence[np.ndarray], dtype: str) -> np.ndarray:
        out = self.array(key, sum(len(p) for p in parts), dtype)
        np.concatenate(parts, out=out)
        return out

    def ordered(
        self, key: str, parts: Sequence[np.ndarray], dtype: str, order: np.ndarray | None
    ) -> np.ndarray:
        if order is None:
            return self.concat(key, parts, dtype)
        values = self.concat(f"unordered:{dtype}", parts, dtype)
        out = self.array(key, len(order), dtype)
        np.take(values, order, out=out)
        return out


def ticks_frame(days: Sequence[pd.DataFrame], scratch: Scratch | None = None) -> pd.DataFrame:
    """The ILP frame of the ticks of several days, sorted by ``ts`` across all of them.

    Columns: ``id``, the float columns, ``symbol``/``contract`` (categorical: encoded as
    SYMBOL), ``trading_day`` (microseconds) and ``ts`` (nanoseconds: TqSdk's ``datetime``).
    Per-day constants are expanded from codes, not from per-row Python objects. Without
    ``scratch`` the columns are fresh arrays.
    """
    days = [d for d in days if len(d)]
    if not days:
        return pd.DataFrame()
    scratch = scratch or Scratch()
    sizes = [len(d) for d in days]
    ns = scratch.concat("datetime", [d["datetime"].to_numpy(dtype="int64") for d in days], "int64")
    order: np.ndarray | None = None
    if len(ns) > 1 and bool((ns[1:] < ns[:-1]).any()):
        order = np.argsort(ns, kind="stable")

    def column(name: str, dtype: str) -> np.ndarray:
        return scratch.ordered(name, [d[name].to_numpy(dtype=dtype) for d in days], dtype, order)

    def constant(name: str, values: Sequence[Any], dtype: str) -> np.ndarray:
        parts = [np.full(n, v, dtype=dtype) for v, n in zip(values, sizes, strict=True)]
        return scratch.ordered(name, parts, dtype, order)

    out: dict[str, Any] = {"id": column("id", "int64")}
    for name in FLOAT_COLUMNS:
        out[name] = column(name, "float64")
    for name in TICK_SYMBOLS:
        labels = [str(d[name].iat[0]) for d in days]
        categories = sorted(set(labels))
        index = {v: i for i, v in enumerate(categories)}
        codes = constant(name, [index[v] for v in labels], "int32")
        out[name] = pd.Categorical.from_codes(codes, categories=pd.Index(categories))
    day_us = np.array([d["trading_day"].iat[0] for d in days], dtype="datetime64[D]")
    day_us = day_us.astype("datetime64[us]").astype("int64")
    out["trading_day"] = constant("trading_day", day_us.tolist(), "int64").view("datetime64[us]")
    ts = ns if order is None else scratch.ordered("ts", [ns], "int64", order)
    out["ts"] = ts.view("datetime64[ns]")
    return pd.DataFrame(out, copy=False)


def encode(buffer: Any, frames: Sequence[IlpFrame]) -> int:
    """Append ``frames`` to ``buffer``; return the rows added."""
    rows = 0
    for f in frames:
        if f.rows:
            buffer.dataframe(f.frame, table_name=f.table, symbols=list(f.symbols), at=f.at)
            rows += f.rows
    return rows


# -- the writer --------------------------------------------------------------------------


Frames = Sequence[IlpFrame] | Callable[[Scratch], Sequence[IlpFrame]]


class SenderLike(Protocol):
    def establish(self) -> None: ...

    def flush(
        self, buffer: Any = None, clear: bool = True, transactional: bool = False
    ) -> None: ...

    def close(self, flush: bool = True) -> None: ...


@dataclass(frozen=True)
class IlpSettings:
    host: str = "127.0.0.1"
    port: int = 9000
    tls: bool = False
    protocol_version: int = 2
    threads: int = 1
    max_buf_size: int = 1 << 30
    request_timeout_ms: int = 60_000
    # The client adds batch bytes / this (bytes per second) to ``request_timeout_ms``, so
    # a flush into a frozen server waits that much longer; 0 adds nothing.
    request_min_throughput: int = 102_400
    retry_timeout_ms: int = 10_000
    keep_buffer_bytes: int = 256 << 20  # a thread keeps its buffer up to this capacity
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    http_reads: bool = True  # tick ranges over this server's /exp (else PGWire): read.py

    def conf(self) -> str:
        """The client configuration string, without credentials (it may be logged)."""
        scheme = "https" if self.tls else "http"
        return (
            f"{scheme}::addr={self.host}:{self.port};protocol_version={self.protocol_version};"
            f"auto_flush=off;max_buf_size={self.max_buf_size};"
            f"request_timeout={self.request_timeout_ms};"
            f"request_min_throughput={self.request_min_throughput};"
            f"retry_timeout={self.retry_timeout_ms};"
        )


def connect_sender(settings: IlpSettings) -> SenderLike:
    with_auth = bool(settings.username and settings.password)
    sender: SenderLike = questdb.Sender.from_conf(
        settings.conf(),
        username=settings.username if with_auth else None,
        password=settings.password if with_auth else None,
    )
    sender.establish()
    return sender


class IlpWriter:
    """A pool of ``threads`` worker threads, each with its own long-lived sender."""

    def __init__(
        self,
        settings: IlpSettings,
        connect: Callable[[IlpSettings], SenderLike] = connect_sender,
    ) -> None:
        self.settings = settings
        self._connect = connect
        self._executor = ThreadPoolExecutor(
            max_workers=settings.threads, thread_name_prefix="ghtrader-ilp"
        )
        self._local = threading.local()
        self._lock = threading.Lock()
        self._senders: dict[int, SenderLike] = {}  # by id(): senders need not hash
        self.flushes = 0

    def _sender(self) -> SenderLike:
        sender: SenderLike | None = getattr(self._local, "sender", None)
        if sender is None:
            try:
                sender = self._connect(self.settings)
            except GhtraderError:
                raise
            except Exception as exc:
                raise classify(exc) from exc
            self._local.sender = sender
            with self._lock:
                self._senders[id(sender)] = sender
        return sender

    def _drop_sender(self) -> None:
        sender = getattr(self._local, "sender", None)
        self._local.sender = None
        if sender is not None:
            with self._lock:
                self._senders.pop(id(sender), None)
            try:
                sender.close(flush=False)
            except Exception:  # a broken connection may fail to close; it is gone anyway
                log.debug("closing a failed ILP sender raised", exc_info=True)

    def write_blocking(self, frames: Frames) -> dict[str, int]:
        """Build (when given a builder), encode and flush once, in the calling thread.

        ``frames`` is either the frames or a function that builds them from this
        thread's ``Scratch`` (so the building, too, stays off the event loop). Returns
        the rows sent per table.
        """
        if callable(frames):
            scratch: Scratch | None = getattr(self._local, "scratch", None)
            if scratch is None:
                scratch = self._local.scratch = Scratch()
            frames = frames(scratch)
        buffer = self._buffer()
        try:
            encode(buffer, frames)
            sent = {f.table: f.rows for f in frames if f.rows}
            if sent:
                self._flush(buffer)
        except GhtraderError:
            raise
        except Exception as exc:
            raise classify(exc) from exc
        finally:
            if buffer.capacity() > self.settings.keep_buffer_bytes:
                self._local.buffer = None  # an outsized batch: do not hold its memory
        return sent

    def _buffer(self) -> Any:
        """This thread's buffer, kept between batches: encoding into memory already
        mapped is ~30% faster than into a fresh buffer growing page by page."""
        buffer = getattr(self._local, "buffer", None)
        if buffer is None:
            buffer = self._local.buffer = new_buffer(self.settings.protocol_version)
        buffer.clear()
        return buffer

    def _flush(self, buffer: Any) -> None:
        sender = self._sender()
        try:
            sender.flush(buffer)
        except Exception as exc:
            error = classify(exc)
            if isinstance(error, RetryableError):
                self._drop_sender()  # reconnect on the next batch
            raise error from exc
        with self._lock:
            self.flushes += 1

    async def write(self, frames: Frames) -> dict[str, int]:
        """``write_blocking`` on one of the writer's own threads; the loop never blocks."""
        future = self._executor.submit(self.write_blocking, frames)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            senders, self._senders = list(self._senders.values()), {}
        for sender in senders:  # their threads are gone: no concurrent use
            try:
                sender.close(flush=False)
            except Exception:
                log.debug("closing an ILP sender raised", exc_info=True)
