"""The QuestDB store's edges without a server: config and secrets, exit codes at start,
error classification of PGWire, and the daemon's instrumentation of an unopened store."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import pytest

from daemon.config import load_config
from daemon.exitcodes import code_for
from ghtrader_core.errors import FatalError, PermanentError, StoreUnavailableError
from ghtrader_core.store.questdb.backend import (
    MissingQuestDBPasswordError,
    QuestDBConfig,
    questdb_settings,
)
from ghtrader_core.store.questdb.errors import classify_pg
from tests.questdb_helpers import FakePg, make_store
from tests.typing_helpers import backend_table

REPO = Path(__file__).resolve().parents[1]

# -- config, secrets, exit codes ---------------------------------------------------------


def test_password_comes_from_env_or_credentials_never_the_model(tmp_path: Path) -> None:
    cfg = load_config(write_questdb_config(tmp_path))
    table = backend_table(cfg.store, "questdb", QuestDBConfig)
    assert "password" not in table.model_dump()
    with pytest.raises(MissingQuestDBPasswordError, match="QUESTDB_PASSWORD"):
        questdb_settings(table, environ={})
    (tmp_path / "questdb_password").write_text("s3cret\n")
    settings = questdb_settings(table, environ={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert settings.pg.password == "s3cret" and settings.ilp.password is None
    assert "s3cret" not in repr(settings)
    assert settings.ilp.conf().startswith("http::addr=127.0.0.1:9000;protocol_version=2;")
    assert "auto_flush=off" in settings.ilp.conf()


def write_questdb_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "q.toml"
    path.write_text(
        f"""
[store]
kind = "questdb"
[store.questdb]
host = "127.0.0.1"
connect_timeout_s = 2
{extra}
[ingest]
symbols = ["KQ.m@SHFE.cu"]
start = 2025-11-03
end = 2025-11-04
"""
    )
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("command", [["check-config", "--ping"], ["backfill"]])
def test_an_unreachable_store_at_start_exits_75(tmp_path: Path, command: Sequence[str]) -> None:
    port = free_port()  # nothing listens there
    path = write_questdb_config(tmp_path, f"pg_port = {port}\nhttp_port = {port}")
    done = subprocess.run(
        [sys.executable, "-m", "daemon.cli", command[0], "-c", str(path), *command[1:]],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"QUESTDB_PASSWORD": "quest", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert done.returncode == 75, done.stderr
    assert "store unavailable, retry later" in done.stderr and "QuestDB" in done.stderr
    assert "quest\n" not in done.stderr



# -- errors and instrumentation --------------------------------------------------------


def test_instrumenting_an_unopened_store_touches_no_property() -> None:
    """``ghtraderd run`` instruments the store before ``open()``: reading ``pg`` then
    raised "QuestDB store is not open" and the daemon exited 75 (a restart loop)."""
    from daemon.metrics import Metrics, instrument_store

    store = make_store(FakePg(), opened=False)
    metrics = Metrics(version="t")
    assert instrument_store(store, metrics) is store
    assert "write_days" in vars(store) and "pg" not in vars(store)


def test_pg_errors_say_why_and_a_refused_login_is_fatal_whatever_its_sqlstate() -> None:



    timeout = classify_pg(TimeoutError(), "wal_tables")  # str() of it is ""
    assert isinstance(timeout, StoreUnavailableError)
    assert str(timeout) == "QuestDB does not answer (wal_tables): TimeoutError: TimeoutError()"
    # QuestDB 9.3 refuses a wrong password with SQLSTATE 00000 (asyncpg: Unknown...)
    refused = asyncpg.exceptions.UnknownPostgresError("invalid username/password")
    login = classify_pg(refused, "the login", connecting=True)
    assert isinstance(login, FatalError) and code_for(login) == 77
    assert "invalid username/password" in str(login)
    later = classify_pg(asyncpg.exceptions.UnknownPostgresError("boom"), "coverage")
    assert isinstance(later, PermanentError)  # after login, a server error is the query's
