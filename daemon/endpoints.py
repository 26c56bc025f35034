"""The daemon's HTTP answers: metrics, health, readiness, status, coverage.

A mixin of ``daemon.app.Daemon``: the answers read the service's state on its own event
loop, so they need no locks; kept apart so the lifecycle reads top to bottom.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import anyio

from daemon.config import Config
from daemon.coverage_cache import CoverageCache, render
from daemon.http import Response, json_response, text_response
from daemon.metrics import CONTENT_TYPE, Metrics
from daemon.pipeline import LiveControls, Summary, code_version
from daemon.status import StatusBoard
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.store.base import Store


class Endpoints:
    config_path: Path
    cfg: Config
    metrics: Metrics
    board: StatusBoard
    controls: LiveControls
    coverage: CoverageCache
    calendar: TradingCalendar
    should_exit: anyio.Event
    phase: str
    ready: bool
    store_up: bool
    restart_required: tuple[str, ...]
    last_reload: dict[str, Any]
    last_summary: Summary | None
    _store: Store | None
    _through: date | None

    def healthy(self) -> bool:
        raise NotImplementedError

    def _end(self, cfg: Config) -> date:
        raise NotImplementedError

    def routes(self) -> dict[str, Callable[[], Any]]:
        return {
            "/metrics": self._metrics,
            "/healthz": self._healthz,
            "/readyz": self._readyz,
            "/status": self._status,
            "/coverage": self._coverage,
        }

    async def _metrics(self) -> Response:
        return Response(200, CONTENT_TYPE, self.metrics.render())

    async def _healthz(self) -> Response:
        ok = self.healthy()
        return text_response("ok\n" if ok else "stalled\n", 200 if ok else 503)

    async def _readyz(self) -> Response:
        ok = self.ready and self.store_up and not self.should_exit.is_set()
        return text_response("ready\n" if ok else "not ready\n", 200 if ok else 503)

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "version": code_version(),
            "config_version": self.cfg.version(),
            "config_file": str(self.config_path),
            "phase": self.phase,
            "healthy": self.healthy(),
            "ready": self.ready,
            "store_up": self.store_up,
            "jobs_in_flight": self.controls.in_flight,
            "queue_depth": self.controls.queue_depth,
            "through": self._through.isoformat() if self._through else None,
            "last_reload": self.last_reload,
            "restart_required": list(self.restart_required),
            "last_pass": self.last_summary.as_dict() if self.last_summary else None,
            **self.board.as_dict(),
        }

    async def _status(self) -> Response:
        return json_response(json.dumps(self.status()).encode())

    async def _coverage(self) -> Response:
        cfg = self.cfg
        end = self._end(cfg)
        if cfg.daemon.coverage_cache:
            body = self.coverage.json(cfg.ingest.symbols, cfg.ingest.start, end)
        else:
            assert self._store is not None
            rows = await self._store.coverage()
            body = render(rows, self.calendar, cfg.ingest.symbols, cfg.ingest.start, end)
        return json_response(body)
