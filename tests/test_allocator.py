"""Arrow's buffers go to the system allocator in the daemon, unless the operator chose."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pyarrow as pa
import pytest

from daemon.allocator import ENV, use_system_allocator_for_arrow


@pytest.fixture
def pool() -> Iterator[None]:
    before = pa.default_memory_pool()
    yield
    pa.set_memory_pool(before)


def test_the_daemon_uses_the_system_allocator(pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    assert use_system_allocator_for_arrow() is True
    assert pa.default_memory_pool().backend_name == "system"
    assert pa.array(["KQ.m@SHFE.cu"] * 1000).nbytes > 0  # allocations still work


def test_an_operator_choice_in_the_environment_is_kept(
    pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "mimalloc")
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    assert use_system_allocator_for_arrow() is False
    assert pa.default_memory_pool().backend_name == "mimalloc"


def test_the_cli_sets_it_before_a_command_runs(pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from daemon import cli

    monkeypatch.delenv(ENV, raising=False)
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    seen: list[str] = []

    def command(args: argparse.Namespace) -> int:
        seen.append(pa.default_memory_pool().backend_name)
        return 0

    parser = argparse.ArgumentParser()
    parser.set_defaults(func=command)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    assert cli.main([]) == 0
    assert seen == ["system"]
