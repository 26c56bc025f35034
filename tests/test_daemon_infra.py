"""The files around the daemon: the systemd unit, Prometheus rules, the Grafana dashboard.

``promtool`` comes from Debian's ``prometheus`` package (``make test`` installs it) and
``systemd-analyze`` from ``systemd``; without them the checks are skipped with the reason.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon import exitcodes
from daemon.config import DaemonConfig
from daemon.metrics import Metrics

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "ghtraderd.service"
PROM = ROOT / "infra" / "prometheus"
GRAFANA = ROOT / "infra" / "grafana"

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool missing (Debian package prometheus)"
)
needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze missing (package systemd)"
)


def _unit_settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_unit_matches_the_daemon() -> None:
    s = _unit_settings()
    assert s["Type"] == ["notify"]
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert s["Restart"] == ["on-failure"]
    prevented = {int(c) for c in s["RestartPreventExitStatus"][0].split()}
    assert prevented == {r.code for r in exitcodes.TABLE if not r.restart} - {exitcodes.OK}
    stop_s = int(s["TimeoutStopSec"][0].removesuffix("s"))
    assert stop_s > DaemonConfig().drain_timeout_s
    assert {c.split(":")[0] for c in s["LoadCredential"]} == {"tqsdk_password", "questdb_password"}
    assert s["CapabilityBoundingSet"] == [""] and s["NoNewPrivileges"] == ["yes"]
    assert "WatchdogSec" in s and s["ExecStart"][0].endswith("run -c /etc/ghtraderd/ghtraderd.toml")


def _local_unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's binary (verify checks it exists)."""
    exe = Path(sys.executable).with_name("ghtraderd")
    unit = tmp_path / "ghtraderd.service"
    unit.write_text(UNIT.read_text().replace("/opt/ghtraderd/.venv/bin/ghtraderd", str(exe)))
    return unit


@needs_systemd
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    r = subprocess.run(
        ["systemd-analyze", "verify", str(_local_unit(tmp_path))],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr


@needs_systemd
def test_systemd_analyze_security_is_at_most_2(tmp_path: Path) -> None:
    r = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(_local_unit(tmp_path))],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if "--offline" in r.stderr and "unrecognized" in r.stderr:
        pytest.skip("systemd-analyze too old for --offline (needs systemd >= 250)")
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
    assert match, r.stdout + r.stderr
    assert float(match.group(1)) <= 2.0


@needs_promtool
def test_prometheus_config_and_rules_check() -> None:
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "ghtraderd.rules.yml"]):
        r = subprocess.run(["promtool", *args], cwd=PROM, capture_output=True, text=True,
                           check=False)
        assert r.returncode == 0, r.stdout + r.stderr


@needs_promtool
def test_alert_rules_unit_tests() -> None:
    r = subprocess.run(
        ["promtool", "test", "rules", "ghtraderd.rules.test.yml"],
        cwd=PROM, capture_output=True, text=True, check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def _metric_families() -> set[str]:
    """Every series name the registry can expose, labelled children or not."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"),
                "info": ("_info",)}
    names = set()
    for family in Metrics(version="t").registry.collect():
        names |= {family.name + s for s in suffixes.get(family.type, ("",))}
    return names


def test_rules_and_dashboard_name_only_real_metrics() -> None:
    known = _metric_families() | {"up"}
    texts = [(PROM / "ghtraderd.rules.yml").read_text()]
    dash = json.loads((GRAFANA / "dashboards" / "ghtraderd.json").read_text())
    texts += [t["expr"] for p in dash["panels"] for t in p["targets"]]
    used = {n for t in texts for n in re.findall(r"\b(ghtraderd_[a-z_]+)", t)}
    assert len(used) > 20  # the regex found what the files name
    assert used - known == set()
    exprs = " ".join(texts)
    for q in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({q}, sum by (le, query)" in exprs
    for alert in ("Down", "NoProgress", "ValidationFailing", "ReloadFailed", "SinkErrors",
                  "StoreUnreachable"):
        assert f"alert: Ghtraderd{alert}" in texts[0]


def test_grafana_provisioning_points_at_the_dashboard_uid() -> None:
    ds = (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    dash = json.loads((GRAFANA / "dashboards" / "ghtraderd.json").read_text())
    uid = re.search(r"uid: (\S+)", ds)
    assert uid and all(p["datasource"]["uid"] == uid.group(1) for p in dash["panels"])
    assert (GRAFANA / "provisioning" / "dashboards" / "ghtraderd.yml").exists()
