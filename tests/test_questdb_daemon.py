"""``ghtraderd run`` on QuestDB: READY, /readyz, /coverage, SIGHUP, SIGTERM exit 0; and
a wrong password stops it with exit 77 (not 75: systemd must not restart-loop on it)."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_helpers import GHTRADERD, Daemon, free_port, has, start_daemon
from tests.questdb_helpers import drop_all, env_with_password, questdb_config
from tests.questdb_server import Endpoint


def daemon_tail(port: int, state_dir: Path) -> str:
    return (
        f'\n[daemon]\nstate_dir = "{state_dir}"\ndrain_timeout_s = 20.0\n\n'
        f'[metrics]\naddress = "127.0.0.1:{port}"\n'
    )


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        d.notify.close()


@pytest.mark.slow
async def test_run_on_questdb_ready_coverage_reload_and_stop(
    tmp_path: Path, questdb: Endpoint, daemons: list[Daemon], monkeypatch: pytest.MonkeyPatch
) -> None:
    await drop_all(questdb)
    port = free_port()
    cfg = questdb_config(tmp_path / "q.toml", questdb, tail=daemon_tail(port, tmp_path))
    monkeypatch.setenv("QUESTDB_PASSWORD", questdb.password)
    d = start_daemon(cfg, port, tmp_path)
    daemons.append(d)
    d.notify.wait_for(has("READY=1"))
    assert d.get("/readyz")[0] == 200
    d.poll(lambda: d.status()["phase"] == "idle", what="catch-up")
    assert d.status()["last_pass"]["downloaded"] == 10 and d.status()["failed_days"] == []
    code, body = d.get("/coverage")
    assert code == 200 and [c["days_present"] for c in json.loads(body)["symbols"]] == [5, 5]
    assert (d.metric('ghtraderd_store_query_duration_seconds_count{query="send_days"}') or 0) > 0

    cfg.write_text(cfg.read_text().replace("concurrency = 2", "concurrency = 1"))
    d.signal(signal.SIGHUP)
    d.poll(lambda: '"live": ["download.concurrency"]' in d.log(), what="the reload")
    assert d.metric("ghtraderd_config_last_reload_successful") == 1
    d.signal(signal.SIGTERM)
    d.notify.wait_for(has("STOPPING=1"))
    assert d.wait_exit() == 0


async def test_run_with_a_wrong_password_exits_77(tmp_path: Path, questdb: Endpoint) -> None:
    cfg = questdb_config(tmp_path / "q.toml", questdb, tail=daemon_tail(free_port(), tmp_path))
    done = subprocess.run(
        [GHTRADERD, "run", "-c", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env_with_password("not-the-password"),
    )
    assert done.returncode == 77, done.stderr
    assert "Traceback" not in done.stderr and "invalid username/password" in done.stderr
