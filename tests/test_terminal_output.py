"""What a person or journald sees: one log pipeline (structlog events and the standard
library's records alike), plain JSON lines off a terminal, and on a terminal a rich
progress bar that stays below the log lines."""

from __future__ import annotations

import io
import json
import logging
import sys
from datetime import date

import pytest
import structlog

from daemon.events import StoredDay
from daemon.logs import configure_logging
from daemon.progress import Progress


class Terminal(io.StringIO):
    """A stream that says it is a terminal (what rich and the bar decide by)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _reset_logging() -> object:
    yield
    configure_logging("warning", "json")


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_library_stdlib_record_comes_out_as_the_same_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info", "json")
    # a core adapter's stdlib sentence, a library's warning, and a structlog event
    logging.getLogger("ghtraderd.tqsdk").warning("killing TqSdk worker %d: %s", 3, "stuck")
    logging.getLogger("asyncpg.pool").warning("connection lost, password=%s", "x")
    logging.getLogger("asyncpg.pool").info("chatty library info")  # below WARNING: dropped
    structlog.get_logger("ghtraderd.app").info("started", pid=7, password="hunter2")
    out = capsys.readouterr()
    assert out.out == ""
    records = _lines(out.err)
    assert [r["logger"] for r in records] == ["ghtraderd.tqsdk", "asyncpg.pool", "ghtraderd.app"]
    assert records[0]["event"] == "killing TqSdk worker 3: stuck"
    assert records[0]["level"] == "warning"
    assert records[2]["event"] == "started" and records[2]["password"] == "***"
    for r in records:  # one shape: the same keys whoever logged
        assert {"event", "logger", "level", "timestamp", "elapsed_s"} <= set(r)


def test_off_a_terminal_progress_is_json_lines_and_no_bar(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info", "json")
    progress = Progress(io.StringIO(), every_days=2)
    progress.planned(total=5, skipped=1)
    for n in range(4):
        progress.day_done(StoredDay("KQ.m@SHFE.cu", date(2025, 11, 3 + n), rows=10))
    progress.close()
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\r" not in err
    records = [r for r in _lines(err) if r["event"] == "progress"]
    assert [(r["done"], r["todo"], r["rows"]) for r in records] == [(2, 4, 20), (4, 4, 40)]


def test_on_a_terminal_log_lines_print_above_the_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    configure_logging("info", "console")
    log = structlog.get_logger("ghtraderd.test")
    with Progress() as progress:
        progress.planned(total=3, skipped=0)
        assert sys.stderr is not screen  # rich holds stderr while the bar is shown
        progress.day_done(StoredDay("KQ.m@SHFE.cu", date(2025, 11, 3), rows=1500))
        log.info("between_days", n=1)
        logging.getLogger("ghtraderd.tqsdk").warning("a core adapter's sentence")
        progress.day_done(StoredDay("KQ.m@SHFE.cu", date(2025, 11, 4), rows=1500))
        progress.day_done(StoredDay("KQ.m@SHFE.cu", date(2025, 11, 5), rows=1500))
    assert sys.stderr is screen  # given back
    text = screen.getvalue()
    logged = text.index("between_days")
    assert text.index("a core adapter's sentence") > logged
    # the bar was drawn before the line, cleared for it, and drawn again below it
    assert text.index("0/3") < logged
    assert text.rfind("\x1b[2K", 0, logged) > text.index("0/3")  # erased, not appended to
    assert "days" in text[text.index("a core adapter's sentence") :]
    last_line = text.replace("\x1b[?25h", "").rstrip("\n").rsplit("\n", 1)[-1]  # cursor back
    assert "3/3" in last_line and "4,500 rows" in last_line  # the bar ends the screen
