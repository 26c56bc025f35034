"""Progress of a backfill: a live bar on a terminal (``rich``), periodic log lines otherwise.

On a terminal the bar is ``rich.progress``: while it is shown, rich redirects
``sys.stderr`` so every log line (structlog's and the standard library's both write to
the current ``sys.stderr``, see ``daemon.logs``) is printed *above* the bar, which stays
the last line. Nothing here draws escape codes by hand. rich is imported only when a bar
is drawn: a pipe, a file or journald gets plain JSON lines and never pays its import.
"""

from __future__ import annotations

import sys
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Self, TextIO

import structlog

from daemon.events import Observer, StoredDay
from ghtrader_core.calendar import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

log = structlog.get_logger("ghtraderd.progress")


class Progress(Observer):
    """Counts finished days; draws a bar when ``stream`` is a terminal, else logs every
    ``every_s`` seconds or ``every_days`` days (a run reads like a timeline). Close it
    (or use it as a context manager) so an interrupted run gives the terminal back."""

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
        self.started = clock.monotonic()
        self._last_log = self.started
        self._last_logged_days = 0
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None

    # -- observer hooks ---------------------------------------------------------------
    def planned(self, total: int, skipped: int) -> None:
        self.close()  # a new pass (``run``) starts its own bar
        self.todo = total - skipped
        self.done = self.failed = self.rows = 0
        self.started = self._last_log = self.clock.monotonic()
        self._last_logged_days = 0
        if self.tty and self.todo:
            self._open_bar()

    def day_done(self, day: StoredDay) -> None:
        self.done += 1
        self.rows += day.rows
        self._show()

    def day_failed(self, symbol: str, trading_day: date, reason: str, permanent: bool) -> None:
        self.failed += 1
        self._show()

    # -- the bar ----------------------------------------------------------------------
    def _open_bar(self) -> None:
        from rich.console import Console  # lazily: only a terminal pays for it
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("days"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rows]:,} rows  {task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=self.stream),
            get_time=self.clock.monotonic,
            redirect_stderr=self.stream is sys.stderr,  # log lines print above the bar
            redirect_stdout=False,  # stdout carries results (``--json``), untouched
            transient=False,
        )
        self._task = self._bar.add_task("days", total=self.todo, rows=0, failed=0)
        self._bar.start()

    def close(self) -> None:
        """Stop the bar (its last state stays on screen); idempotent."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = self._task = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def _show(self) -> None:
        finished = self.done + self.failed
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=finished, rows=self.rows, failed=self.failed)
            if finished >= self.todo:
                self.close()
            return
        if self.tty:
            return  # a terminal without a bar (nothing planned): nothing to say
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
                elapsed_s=round(now - self.started, 1),
            )
