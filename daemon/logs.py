"""Structured logging: one event per line, elapsed time first, JSON under systemd.

``format = "auto"`` renders for a person on a terminal and as JSON otherwise (journald,
pipes, CI). There is one pipeline: structlog's events go to the standard library's
``logging`` (``structlog.stdlib.LoggerFactory``), and one handler renders them and the
records of libraries and core adapters (``logging.getLogger(...)`` sentences) through
structlog's ``ProcessorFormatter`` with the same processors: one format, one ``logger``
key, secrets masked whatever called. The handler writes to the *current* ``sys.stderr``,
so while ``daemon.progress`` shows a bar (rich redirects stderr) log lines print above it.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import MutableMapping
from typing import Any

import structlog

_START = time.monotonic()  # elapsed_s of a line: process age, not wall time
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


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of the call, not at configuration
    (tests and embedding code swap it; rich's live bar redirects it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    """Configure structlog and the standard ``logging`` module as one pipeline (see the
    module doc); called again on reload, it replaces the handler."""
    renderer: list[Any]
    if use_json(fmt):
        renderer = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        renderer = [_console_prefix, structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _elapsed,
        _mask_secrets,
    ]
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(_CurrentStderr())  # type: ignore[arg-type]
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Libraries speak at WARNING and above only (TqSdk is chatty at INFO); our own
    # ``ghtraderd.*`` loggers (structlog's and the core adapters') at the configured level.
    root.setLevel(max(numeric, logging.WARNING))
    logging.getLogger("ghtraderd").setLevel(numeric)
