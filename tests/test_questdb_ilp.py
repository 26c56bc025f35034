"""The bytes the QuestDB store sends, and how it classifies and survives client errors.

The expected bytes are written out from the ILP specification (tags, then fields; v2
doubles as ``==`` + 0x10 + 8 little-endian bytes; ``i`` longs; ``t`` microsecond and
``n`` nanosecond timestamps), not produced by the client, so a change in what we hand
the client or in how it encodes shows up here.
"""

from __future__ import annotations

import math
import struct
import threading
from datetime import date
from functools import partial

import pytest

from daemon.exitcodes import code_for
from ghtrader_core.errors import FatalError, PermanentError, RetryableError
from ghtrader_core.store.base import DayWrite
from ghtrader_core.store.questdb.ilp import (
    Frames,
    IlpFrame,
    IlpSettings,
    IlpWriter,
    classify,
    encode,
    new_buffer,
)
from ghtrader_core.store.questdb.store import day_frames
from ghtrader_core.ticks import FLOAT_COLUMNS
from tests.questdb_helpers import (
    CONTRACT,
    DAY,
    SYMBOL,
    T0,
    SenderPool,
    a_validation,
    flush_error,
    small_day,
)

DAY_US = 1_762_128_000_000_000  # 2025-11-03T00:00:00Z in microseconds


def v2_double(name: str, value: float) -> bytes:
    return name.encode() + b"==\x10" + struct.pack("<d", value)


def tick_line(ts_ns: int, tick_id: int, last_price: float, *, symbol: str = SYMBOL) -> bytes:
    values = {c: math.nan for c in FLOAT_COLUMNS}
    values["last_price"] = last_price
    values["volume"] = 10.0
    fields = [f"id={tick_id}i".encode()]
    fields += [v2_double(c, values[c]) for c in FLOAT_COLUMNS]
    fields.append(f"trading_day={DAY_US}t".encode())
    head = f"ticks,symbol={symbol},contract={CONTRACT} ".encode()
    return head + b",".join(fields) + f" {ts_ns}n\n".encode()


def encoded(*writes: DayWrite, protocol_version: int = 2) -> bytes:
    buffer = new_buffer(protocol_version)
    encode(buffer, day_frames(list(writes)))
    return bytes(buffer)


def test_exact_bytes_of_a_small_frame_protocol_2() -> None:
    # two ticks one nanosecond apart, the second with a NaN price (TqSdk sends NaN for
    # an empty level); symbols as tags, id as a long, trading day in us, ts in ns
    day = small_day(datetimes=(T0, T0 + 1), ids=(7, 8), last_prices=(1.5, math.nan))
    assert encoded(day) == tick_line(T0, 7, 1.5) + tick_line(T0 + 1, 8, math.nan)


def test_nan_is_sent_as_the_ieee_quiet_nan() -> None:
    data = encoded(small_day(datetimes=(T0,), last_prices=(math.nan,)))
    assert b"last_price==\x10" + b"\x00\x00\x00\x00\x00\x00\xf8\x7f" in data


def test_protocol_1_is_text_and_keeps_the_designated_timestamp_in_ns() -> None:
    data = encoded(small_day(datetimes=(T0 + 1,), last_prices=(math.nan,)), protocol_version=1)
    assert data.startswith(f"ticks,symbol={SYMBOL},contract={CONTRACT} id=7i,".encode())
    assert b"last_price=NaN," in data and b"volume=10.0," in data
    assert data.endswith(f"trading_day={DAY_US}t {T0 + 1}\n".encode())


def test_rows_are_sorted_by_timestamp_across_the_batch_and_days_ascend() -> None:
    later = small_day(date(2025, 11, 4), datetimes=(T0 + 86_400_000_000_000,), ids=(1,))
    a = small_day(datetimes=(T0, T0 + 2), ids=(10, 12))
    b = small_day(symbol="KQ.m@SHFE.rb", datetimes=(T0 + 1, T0 + 3), ids=(11, 13))
    lines = encoded(later, b, a).split(b"\n")[:-1]
    stamps = [int(line.rsplit(b" ", 1)[1][:-1]) for line in lines]
    assert stamps == sorted(stamps) and len(stamps) == 5
    assert [line.split(b" id=")[1].split(b"i,")[0] for line in lines] == [
        b"10",
        b"11",
        b"12",
        b"13",
        b"1",
    ]


def test_validation_rows_travel_in_the_same_buffer_with_nulls_omitted() -> None:
    data = encoded(small_day(validation=a_validation(findings=2, gaps=1)))
    lines = [line for line in data.split(b"\n") if line.startswith(b"validation_")]
    assert [line.split(b",")[0] for line in lines] == [
        b"validation_summary",
        b"validation_findings",
        b"validation_findings",
        b"validation_gaps",
    ]
    assert b",field=bid_price1 " in lines[1]
    assert b"field=" not in lines[2]  # empty field -> NULL symbol, not an empty string
    assert all(line.endswith(f" {DAY_US * 1000}n".encode()) for line in lines)


# -- error classification ----------------------------------------------------------------

SERVER_400 = (
    "Could not flush buffer: http-status=400, error in line 1: table: ticks, column: id; "
    "cast error from protocol type: DOUBLE to column type: LONG"
)
# What the questdb 6.0 client raises for a row QuestDB 9.3 rejects (seen on the real server).
SERVER_INVALID = (
    'Could not flush buffer: {"code":"invalid","message":"failed to parse line protocol:'
    "errors encountered on line(s):\\nerror in line 1: table: ticks, column: last_price; "
    'cast error from protocol type: STRING to column type: DOUBLE","line":1,"errorId":"x-1"}'
)
SERVER_INTERNAL = (
    'Could not flush buffer: {"code":"internal error","message":"commit failed",'
    '"errorId":"x-2"}'
)


@pytest.mark.parametrize(
    ("error", "kind", "kept"),
    [
        (flush_error(SERVER_INVALID), PermanentError, "column: last_price; cast error"),
        (flush_error(SERVER_INTERNAL), RetryableError, "commit failed"),
        (flush_error('Could not flush buffer: {"code":"request too large","message":"m"}'),
         PermanentError, "request too large"),
        (flush_error(SERVER_400), PermanentError, SERVER_400),  # not JSON: a proxy's answer
        (flush_error("Could not flush buffer: http-status=503, busy"), RetryableError, "busy"),
        (flush_error("Could not flush buffer: http-status=429, slow"), RetryableError, "slow"),
        (
            flush_error("Could not flush buffer: io: Connection refused", "SocketError"),
            RetryableError,
            "Connection refused",
        ),
        (flush_error("timed out", "ConnectTimeout"), RetryableError, "timed out"),
        (flush_error("Could not flush buffer: http-status=401, no"), FatalError, "HTTP 401"),
        (flush_error("bad credentials", "AuthError"), FatalError, "bad credentials"),
        (flush_error("bad table name", "InvalidName"), PermanentError, "bad table name"),
        (flush_error("something new", "FailoverRetry"), RetryableError, "something new"),
        # a JSON-looking text that is not QuestDB's answer does not decide anything
        (flush_error('io: {"code":"invalid"}', "SocketError"), RetryableError, "io:"),
    ],
)
def test_classification(error: BaseException, kind: type[Exception], kept: str) -> None:
    classified = classify(error)
    assert isinstance(classified, kind) and (
        kind is not RetryableError or not isinstance(classified, PermanentError | FatalError)
    )
    assert kept in str(classified)  # the server's message travels with the error
    if kind is FatalError:
        assert code_for(classified) == 77


# -- the writer: a sender per thread, replaced after a transient failure ---------------


def frames() -> list[IlpFrame]:
    return day_frames([small_day()])


def test_transient_failure_is_retryable_and_the_sender_is_replaced() -> None:
    pool = SenderPool([flush_error("io: Connection reset", "SocketError")])
    writer = IlpWriter(IlpSettings(), connect=pool)
    try:
        with pytest.raises(RetryableError):
            writer.write_blocking(frames())
        assert pool.senders[0].closed
        assert writer.write_blocking(frames()) == {"ticks": 2}
        assert len(pool.senders) == 2 and pool.senders[1].flushed == [encoded(small_day())]
    finally:
        writer.close()


def test_server_rejection_is_permanent_and_keeps_the_sender() -> None:
    pool = SenderPool([flush_error(SERVER_400)])
    writer = IlpWriter(IlpSettings(), connect=pool)
    try:
        with pytest.raises(PermanentError, match="cast error from protocol type"):
            writer.write_blocking(frames())
        writer.write_blocking(frames())
        assert len(pool.senders) == 1 and not pool.senders[0].closed
    finally:
        writer.close()
    assert pool.senders[0].closed  # closed with the writer


async def test_each_worker_thread_keeps_its_own_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = SenderPool()
    writer = IlpWriter(IlpSettings(threads=2), connect=pool)
    gate = threading.Barrier(2, timeout=10)
    original = writer.write_blocking

    def both_threads_busy(f: Frames) -> dict[str, int]:
        gate.wait()  # two writes in flight at once: they must be on two threads
        return original(f)

    monkeypatch.setattr(writer, "write_blocking", both_threads_busy)
    try:
        import anyio

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(writer.write, frames())
        assert writer.flushes == 4
        assert len(pool.senders) == 2
        assert all(len(s.threads) == 1 for s in pool.senders)
        assert pool.senders[0].threads != pool.senders[1].threads
    finally:
        writer.close()


def test_the_batch_is_one_buffer_and_one_flush() -> None:
    pool = SenderPool()
    writer = IlpWriter(IlpSettings(), connect=pool)
    try:
        days = [small_day(DAY), small_day(date(2025, 11, 4), validation=a_validation())]
        writer.write_blocking(day_frames(days))
        assert len(pool.flushed) == 1
        assert pool.flushed[0].count(b"\nticks,") + 1 == 4  # 2 days x 2 ticks
    finally:
        writer.close()


def test_reused_scratch_arrays_give_the_bytes_of_fresh_ones() -> None:
    pool = SenderPool()
    writer = IlpWriter(IlpSettings(), connect=pool)
    big = [
        small_day(datetimes=(T0, T0 + 2, T0 + 4), ids=(1, 2, 3)),
        small_day(symbol="KQ.m@SHFE.rb", datetimes=(T0 + 1, T0 + 3), ids=(4, 5)),
    ]
    small = [small_day(date(2025, 11, 4), datetimes=(T0 + 86_400 * 10**9,), ids=(9,))]
    try:
        for batch in (big, small, big):
            writer.write_blocking(partial(day_frames, batch))
    finally:
        writer.close()
    assert pool.flushed == [encoded(*big), encoded(*small), encoded(*big)]
