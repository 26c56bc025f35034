"""The exit-code table is one table: the README's copy, systemd's no-restart list and the
error classes all agree with ``daemon/exitcodes.py``."""

from __future__ import annotations

import re
from pathlib import Path

from daemon import exitcodes
from daemon.config import ConfigError
from daemon.errors_exit import describe
from daemon.planner import PlanError
from ghtrader_core import backends, errors
from ghtrader_core.read.export import ExportPathError
from ghtrader_core.store.questdb.store import QuestDBSchemaError

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_table_is_the_table() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert "\n".join(rows) == exitcodes.markdown_table()


def test_systemd_does_not_restart_what_a_restart_cannot_cure() -> None:
    unit = (ROOT / "systemd" / "ghtraderd.service").read_text()
    listed = re.search(r"^RestartPreventExitStatus=(.*)$", unit, re.M)
    assert listed is not None
    assert listed.group(1).strip() == exitcodes.restart_prevented()
    # what the table says "no" to is what systemd does not restart (0 is success)
    assert {int(c) for c in listed.group(1).split()} == {
        r.code for r in exitcodes.TABLE if not r.restart
    } - {0}


def test_every_class_has_its_code_and_the_classes_agree_with_the_table() -> None:
    documented = {r.code for r in exitcodes.TABLE}
    cases: list[tuple[BaseException, int]] = [
        (errors.RetryableError("x"), 75),
        (errors.SourceUnavailableError("x"), 75),
        (errors.StoreUnavailableError("x"), 75),
        (errors.StoreLockedError("x"), 75),
        (errors.StoreWriteError("x"), 73),
        (errors.StorePathError("x"), 73),
        (errors.StoreCorruptError("x"), 73),
        (errors.StoreMissingError("x"), 73),
        (ExportPathError("x"), 73),
        (QuestDBSchemaError("x"), 78),
        (errors.SourceDownError("x"), 75),
        (errors.AuthError("x"), 77),
        (errors.FatalError("x"), 77),
        (errors.ConfigInvalidError("x"), 78),
        (ConfigError("x"), 78),
        (PlanError("x"), 2),
        (errors.UsageError("x"), 2),
        (KeyboardInterrupt(), 130),
        (KeyError("x"), 70),
    ]
    for exc, code in cases:
        assert exitcodes.code_for(exc) == code, exc
        assert code in documented


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_the_table_is_the_only_place_a_class_gets_a_code() -> None:
    backends.discover()  # every adapter's error classes are defined
    import ghtrader_core.read.export  # noqa: F401

    classes = _subclasses(BaseException)
    carrying = sorted(c.__qualname__ for c in classes if "exit_code" in c.__dict__)
    assert carrying == []
    # and an adapter's own subclass inherits its base's code through the MRO lookup
    class LibraryTimeout(errors.StoreUnavailableError):
        pass

    assert exitcodes.code_for(LibraryTimeout("x")) == 75


def test_a_group_is_unwrapped_to_the_error_with_a_code() -> None:
    group = ExceptionGroup("tg", [KeyError("noise"), errors.StorePathError("disk gone")])
    code, line = describe(ExceptionGroup("outer", [group]))
    assert code == 73 and line == "ghtraderd: disk gone"
    code, line = describe(errors.SourceUnavailableError("no route\nto host"))
    assert code == 75 and "\n" not in line and line.startswith("FAILED:")


def test_a_backend_library_error_that_escaped_is_classified_by_its_backend() -> None:
    import duckdb

    code, line = describe(duckdb.IOException('Could not write file "x.wal": No space left'))
    assert code == 73 and "No space left" in line  # StoreWriteError, not a bug
    code, _ = describe(duckdb.Error("Corrupt database file: checksum mismatch"))
    assert code == 73


def test_a_reader_that_leaves_ends_the_command_quietly(tmp_path: Path) -> None:
    """``ghtraderd ... | head -1``: no "Exception ignored ... BrokenPipeError", no 120.
    Buffered output (what a pipe gets without PYTHONUNBUFFERED) meets a closed pipe."""
    import os
    import subprocess
    import sys

    from tests.pipeline_helpers import small_config

    config = small_config(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    for args in (["check-config", "-c", str(config)], ["--help"], ["check-config"]):
        read, write = os.pipe()
        os.close(read)  # the reader is gone before the command writes anything
        done = subprocess.run(
            [sys.executable, "-m", "daemon.cli", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
        os.close(write)
        expected = 2 if args == ["check-config"] else 0  # a usage error keeps its code
        assert done.returncode == expected, (args, done.stderr)
        assert b"BrokenPipe" not in done.stderr and b"Traceback" not in done.stderr


def test_a_bug_names_the_readme_section_that_says_how_to_report_it() -> None:
    from daemon import errors_exit

    page, _, anchor = errors_exit.REPORT_URL.partition("#")
    headings = [
        line.lstrip("#").strip().lower().replace(" ", "-")
        for line in (ROOT / page).read_text().splitlines()
        if line.startswith("#")
    ]
    assert anchor in headings
    code, line = describe(KeyError("boom"))
    assert code == 70 and errors_exit.REPORT_URL in line and "\n" not in line
    Path(line.split("traceback saved to ")[1].split("):")[0]).unlink()  # leave no file behind
