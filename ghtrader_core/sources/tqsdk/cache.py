"""TqSdk's disk cache: every download is kept under ``tqsdk.data_series.CACHE_DIR`` forever,
as ``{contract}.0.{first_id}.{last_id}`` files plus a ``.{contract}.0.lock`` file lock. The
source deletes a contract's files once its days are durable in the store."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path


def prune_cache(cache_dir: Path, contract: str) -> int:
    """Delete TqSdk's tick cache files of ``contract`` (``{contract}.0.*`` and its lock)."""
    if not cache_dir.is_dir():
        return 0
    removed = 0
    for pattern in (f"{contract}.0.*", f".{contract}.0.lock"):
        for path in cache_dir.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed


def wipe_cache(cache_dir: Path) -> None:
    """Delete a whole cache directory: what a killed worker left (half-written series files,
    its lock files) belongs to no one any more."""
    shutil.rmtree(cache_dir, ignore_errors=True)
