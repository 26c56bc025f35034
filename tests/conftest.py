"""Shared fixtures: one config writer, one CLI launcher, a size-limited file system, an
empty QuestDB store on the test server.

Ports are never guessed: configs say port 0 and the daemon reports what it bound.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import structlog

from tests.pipeline_helpers import run_cli, small_config

if TYPE_CHECKING:
    from ghtrader_core.store.questdb.store import QuestDBStore
    from tests.questdb_server import Endpoint

# The real QuestDB server, started once per session when a QuestDB test needs it.
pytest_plugins = ("tests.questdb_server",)


@pytest.fixture(autouse=True)
def _structlog_config_per_test() -> Iterator[None]:
    """Each test starts from the same structlog set-up: a test that configures logging
    (``configure_logging("warning")``, say) must not filter out the info events a later
    test reads with ``capture_logs`` (seen as an order-dependent failure)."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """``write_config(**keys)``: a small synthetic-source config in ``tmp_path``."""

    def write(**kw: object) -> Path:
        return small_config(tmp_path, **kw)  # type: ignore[arg-type]

    return write


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli(*args)``: run ``ghtraderd`` as a process; returns the completed process."""
    return run_cli


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """``tmpfs(size_bytes)``: a real file system of that size (root only). Writes past it
    fail with ENOSPC for every user, root included, unlike permission bits."""
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        point = tmp_path / f"fs-{uuid.uuid4().hex[:8]}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.fixture
async def questdb_store(questdb: Endpoint) -> AsyncIterator[QuestDBStore]:
    """An opened ``QuestDBStore`` on the session's server (``questdb``) with every table of
    the store dropped first: empty, its schema just created by ``open``. Closed after."""
    from ghtrader_core.store.questdb.store import QuestDBStore  # QuestDB tests only
    from tests.questdb_helpers import drop_all

    await drop_all(questdb)
    store = QuestDBStore(questdb.settings())
    await store.open()
    try:
        yield store
    finally:
        await store.close()
