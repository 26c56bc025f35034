"""The ILP client's time-outs come from ``[store.questdb]``, and bound a flush into a frozen
server on the real QuestDB.

The client waits ``request_timeout`` plus the batch's bytes / ``request_min_throughput``
for an answer. At the client's default of 100 KiB/s a 10 MB batch into a frozen server
waits well over a minute; with the keys set it fails within the configured bound and the
daemon retries (``RetryableError``).
"""

from __future__ import annotations

import signal
import time

import pytest

from ghtrader_core.errors import RetryableError
from ghtrader_core.store.questdb.backend import QuestDBConfig, questdb_settings
from ghtrader_core.store.questdb.frames import day_frames
from ghtrader_core.store.questdb.ilp import IlpWriter, encode, new_buffer
from tests.questdb_helpers import T0, small_day
from tests.questdb_server import Endpoint, QuestDBServer

ENV = {"QUESTDB_PASSWORD": "quest"}


def test_the_keys_reach_the_senders_configuration() -> None:
    ilp = questdb_settings(
        QuestDBConfig(request_timeout_s=2.5, request_min_throughput=1_000_000), ENV
    ).ilp
    conf = ilp.conf()
    assert "request_timeout=2500;" in conf and "request_min_throughput=1000000;" in conf
    default = questdb_settings(QuestDBConfig(), ENV).ilp.conf()
    assert "request_timeout=60000;" in default and "request_min_throughput=102400;" in default
    with pytest.raises(ValueError):
        QuestDBConfig(request_min_throughput=-1)


@pytest.mark.slow
def test_a_flush_into_a_frozen_server_ends_within_the_configured_bound(
    questdb: Endpoint, own_questdb: QuestDBServer
) -> None:
    host, port = questdb.http_host_port
    throughput = 50_000_000  # bytes/s
    cfg = QuestDBConfig(
        host=host, http_port=port, request_timeout_s=1.0, retry_timeout_s=0,
        request_min_throughput=throughput,
    )
    writer = IlpWriter(questdb_settings(cfg, ENV).ilp)
    frames = day_frames([small_day(datetimes=[T0 + k for k in range(20_000)])])
    buffer = new_buffer(2)
    encode(buffer, frames)
    size = len(buffer)
    assert size > 5_000_000  # the client's default would add over 50 s to the time-out
    bound = cfg.request_timeout_s + size / throughput
    try:
        own_questdb.signal(signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(RetryableError):
            writer.write_blocking(frames)
        took = time.monotonic() - started
    finally:
        own_questdb.signal(signal.SIGCONT)
        writer.close()
    assert cfg.request_timeout_s * 0.9 <= took <= bound + 5.0, (took, bound)
