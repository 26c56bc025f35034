"""Shared fixtures: one config writer, one CLI launcher, a size-limited file system.

Ports are never guessed: configs say port 0 and the daemon reports what it bound.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pipeline_helpers import run_cli, small_config

# The real QuestDB server, started once per session when a QuestDB test needs it.
pytest_plugins = ("tests.questdb_server",)


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
