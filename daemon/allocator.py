"""Which allocator holds Arrow's buffers in the daemon's process.

pyarrow's default pool (mimalloc in the wheels) keeps the pages of freed buffers for
reuse, per thread. Days are built in download threads and freed by the sink, so those
pages piled up: a synthetic backfill of 640 symbol-days peaked ~50 MB higher with it than
with the system allocator (bench/memory.py, README), at no measured ingest cost. An
operator who sets ``ARROW_DEFAULT_MEMORY_POOL`` keeps their choice.
"""

from __future__ import annotations

import os

ENV = "ARROW_DEFAULT_MEMORY_POOL"


def use_system_allocator_for_arrow() -> bool:
    """Make the system allocator Arrow's default pool; False if the environment chose."""
    if os.environ.get(ENV):
        return False
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    return True
