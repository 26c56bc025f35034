"""The read API: what the store holds, as researchers use it (see README "Reading the data").

``AsyncReader`` (async) and ``Reader`` (blocking, for notebooks) over an opened store;
``daemon.reader.open_reader(config_path)`` opens one from the daemon's config file (the
config loader lives in the daemon, which the core never imports). ``export_dataset``
writes a Hive-partitioned Parquet/CSV dataset with a manifest, incrementally.
"""

from ghtrader_core.read.api import AsyncReader
from ghtrader_core.read.plan import ALL_STATUSES, DEFAULT_STATUSES, DayPlan, ExcludedDay
from ghtrader_core.read.sync import Reader

__all__ = [
    "ALL_STATUSES",
    "DEFAULT_STATUSES",
    "AsyncReader",
    "DayPlan",
    "ExcludedDay",
    "Reader",
]
