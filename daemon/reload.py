"""Which config keys a SIGHUP can apply, and how: live, by re-planning, or not at all.

- live: applied to the running pass at once (concurrency, retry policy, sink batch sizes,
  log level, the daemon's schedule and thresholds, switches);
- replan: the running pass drains (days in flight finish, queued rows are flushed and
  checkpointed) and a new pass is planned with the new values (symbols, range, calendar,
  validation, and any section this module does not know yet: re-planning is always safe);
- restart: only a new process can apply them (the store it holds locked and open, the
  source's connections, the address the HTTP server is bound to). The rest of the file is
  applied and these keys are reported; the running values stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from daemon.config import Config

RESTART_KEYS = ("store", "source", "metrics.address", "metrics.enabled", "daemon.state_dir")
LIVE_KEYS = ("download", "sink", "log", "daemon", "metrics")


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _under(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


@dataclass(frozen=True)
class Change:
    effective: Config  # the new config with the restart-only values kept as they run
    live: tuple[str, ...]
    replan: tuple[str, ...]
    restart: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.live or self.replan or self.restart)


def diff(running: Config, loaded: Config) -> Change:
    old = _flatten(running.model_dump(mode="json"))
    new = _flatten(loaded.model_dump(mode="json"))
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    restart = tuple(k for k in changed if _under(k, RESTART_KEYS))
    live = tuple(k for k in changed if k not in restart and _under(k, LIVE_KEYS))
    replan = tuple(k for k in changed if k not in restart and k not in live)
    effective = loaded.model_copy(
        update={
            "store": running.store,
            "source": running.source,
            "metrics": loaded.metrics.model_copy(
                update={"address": running.metrics.address, "enabled": running.metrics.enabled}
            ),
            "daemon": loaded.daemon.model_copy(update={"state_dir": running.daemon.state_dir}),
        }
    )
    return Change(effective, live, replan, restart)
