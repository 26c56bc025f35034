"""Progress of a backfill: a one-line bar on a terminal, periodic log lines otherwise.

On a terminal the bar stays below the log: ``daemon.logs.keep_below`` clears it before a
log line and draws it again after. (Why not ``rich``: one line of bar does not need a new
dependency with its own console and logging handler beside structlog; this is the part
of what rich does that we use.)"""

from __future__ import annotations

import sys
from datetime import date
from typing import TextIO

import structlog

from daemon.events import Observer, StoredDay
from daemon.logs import keep_below
from ghtrader_core.calendar import SYSTEM_CLOCK, Clock

log = structlog.get_logger("ghtraderd.progress")


class Progress(Observer):
    """Counts finished days; draws a bar when ``stream`` is a terminal, else logs
    every ``every_s`` seconds or ``every_days`` days (a run reads like a timeline)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        every_s: float = 15.0,
        every_days: int = 25,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.clock = clock
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = every_s
        self.every_days = every_days
        self.todo = 0
        self.done = 0
        self.failed = 0
        self.rows = 0
        self.started = self.clock.monotonic()
        self._last_log = self.started
        self._last_logged_days = 0

    def planned(self, total: int, skipped: int) -> None:
        self.todo = total - skipped
        if self.tty and self.stream is sys.stderr:
            keep_below(self._line)

    def day_done(self, day: StoredDay) -> None:
        self.done += 1
        self.rows += day.rows
        self._show()

    def day_failed(self, symbol: str, trading_day: date, reason: str, permanent: bool) -> None:
        self.failed += 1
        self._show()

    def _line(self) -> str:
        finished = self.done + self.failed
        elapsed = self.clock.monotonic() - self.started
        width = 30
        filled = int(width * finished / self.todo) if self.todo else width
        bar = "#" * filled + "." * (width - filled)
        return (
            f"[{bar}] {finished}/{self.todo} days  {self.rows:,} rows  "
            f"{self.failed} failed  {elapsed:6.1f}s"
        )

    def _show(self) -> None:
        finished = self.done + self.failed
        elapsed = self.clock.monotonic() - self.started
        if self.tty:
            self.stream.write("\r" + self._line())
            if self.stream is sys.stderr:
                keep_below(self._line)
            if finished >= self.todo:
                self.stream.write("\n")
                keep_below(None)
            self.stream.flush()
            return
        now = self.clock.monotonic()
        if (
            now - self._last_log >= self.every_s
            or finished - self._last_logged_days >= self.every_days
            or finished >= self.todo
        ):
            self._last_log, self._last_logged_days = now, finished
            log.info(
                "progress",
                done=self.done,
                failed=self.failed,
                todo=self.todo,
                rows=self.rows,
                elapsed_s=round(elapsed, 1),
            )
