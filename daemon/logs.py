"""Structured logging: one event per line, elapsed time first, JSON under systemd.

``format = "auto"`` renders for a person on a terminal and as JSON otherwise (journald,
pipes, CI). Keys that could carry a secret are masked before rendering, whatever calls log.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog

_START = time.monotonic()
_SECRET_KEYS = ("password", "token", "secret", "passwd", "credential")


def _elapsed(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event["elapsed_s"] = round(time.monotonic() - _START, 3)
    return event


def _mask_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if any(word in key.lower() for word in _SECRET_KEYS):
            event[key] = "***"
    return event


def _console_prefix(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    elapsed = event.pop("elapsed_s", 0.0)
    event["event"] = f"{elapsed:7.2f}s → {event['event']}"
    return event


def use_json(fmt: str) -> bool:
    if fmt == "auto":
        return bool(os.environ.get("JOURNAL_STREAM")) or not sys.stderr.isatty()
    return fmt == "json"


_bar: Callable[[], str] | None = None  # the live progress line on a terminal, if any
_bar_shown = False  # the cursor sits at the end of the bar (not inside a log line)


def keep_below(bar: Callable[[], str] | None) -> None:
    """Keep ``bar()`` as the last line of the terminal: a log line clears it, is written
    on its own line, and the bar is drawn again below it. Called each time the bar is
    drawn; ``None``: no bar any more."""
    global _bar, _bar_shown
    _bar, _bar_shown = bar, bar is not None


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of the call, not at configuration
    (tests and embedding code swap it)."""

    def write(self, text: str) -> int:
        global _bar_shown
        if _bar is None:
            return sys.stderr.write(text)
        if _bar_shown:  # clear the bar first; the log line takes its place
            sys.stderr.write("\r\x1b[K")
            _bar_shown = False
        written = sys.stderr.write(text)
        if text.endswith("\n"):
            sys.stderr.write(_bar())
            _bar_shown = True
        return written

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    """Configure structlog, and route the standard ``logging`` module (used by the core's
    adapters and by libraries) through the same processors, so every line looks alike."""
    renderer: list[Any]
    if use_json(fmt):
        renderer = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        renderer = [_console_prefix, structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _elapsed,
        _mask_secrets,
    ]
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*shared, *renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(_CurrentStderr())  # type: ignore[arg-type]
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Libraries speak at WARNING and above only (TqSdk is chatty at INFO); our own
    # ``ghtraderd.*`` loggers at the configured level.
    root.setLevel(max(numeric, logging.WARNING))
    logging.getLogger("ghtraderd").setLevel(numeric)
