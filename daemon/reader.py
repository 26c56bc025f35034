"""``open_reader("config/demo.toml")``: the read API on the store a config file names.

The core's ``Reader`` takes an (unopened) store; building that store from a config file
is the daemon's job (config model, environment overrides, QuestDB credentials from the
environment or systemd credentials), so the config-file entry point lives here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from daemon.config import load_config
from daemon.factory import build_store
from ghtrader_core.read import AsyncReader, Reader


def open_reader(config_path: str | Path) -> Reader:
    """A blocking ``Reader`` on the configured store; close it (or use ``with``)."""
    return Reader.open(build_store(load_config(config_path)))


@asynccontextmanager
async def open_async_reader(config_path: str | Path) -> AsyncIterator[AsyncReader]:
    """An ``AsyncReader`` on the configured store, open for the ``async with`` block."""
    store = build_store(load_config(config_path))
    await store.open()
    try:
        yield AsyncReader(store)
    finally:
        with anyio.CancelScope(shield=True):
            await store.close()
