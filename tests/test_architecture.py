"""The rules of the layout, checked on the source: imports point one way."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ADAPTERS = ("validation", "sources", "store")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


CORE_FILES = sorted((ROOT / "ghtrader_core").rglob("*.py"))


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_imports_the_daemon_and_adapters_never_import_each_other(path: Path) -> None:
    found = imports_of(path)
    assert not any(n == "daemon" or n.startswith("daemon.") for n in found)
    rel = path.relative_to(ROOT / "ghtrader_core").parts
    if rel[0] in ADAPTERS:
        others = [f"ghtrader_core.{a}" for a in ADAPTERS if a != rel[0]]
        bad = [n for n in found if any(n == o or n.startswith(o + ".") for o in others)]
        assert bad == [], f"{path.name} imports {bad}"


KINDS = ("duckdb", "questdb", "synthetic", "replay", "tqsdk")


def test_only_the_factory_switches_on_store_or_source_kind() -> None:
    offenders = []
    for path in sorted((ROOT / "daemon").rglob("*.py")) + CORE_FILES:
        if path.name in ("factory.py", "config.py"):  # config validates per kind
            continue
        text = path.read_text()
        for kind in KINDS:
            if f'== "{kind}"' in text or f"== '{kind}'" in text:
                offenders.append(f"{path.relative_to(ROOT)}: {kind}")
    assert offenders == []


DOMAIN = ("calendar", "records", "schedule", "symbols", "ticks", "errors", "validation")


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_modules_never_import_sources_or_stores(path: Path) -> None:
    rel = path.relative_to(ROOT / "ghtrader_core").parts
    if rel[0].removesuffix(".py") not in DOMAIN:
        return
    bad = [
        n
        for n in imports_of(path)
        if n.startswith(("ghtrader_core.sources", "ghtrader_core.store"))
    ]
    assert bad == [], f"{path.name} imports {bad}"


MAX_LINES = 400


def test_no_module_over_400_lines() -> None:
    files = sorted((ROOT / "ghtrader_core").rglob("*.py")) + sorted(
        (ROOT / "daemon").rglob("*.py")
    )
    long = {
        str(p.relative_to(ROOT))
        for p in files
        if len(p.read_text().splitlines()) > MAX_LINES
    }
    assert long == set(), f"split these along their seams: {sorted(long)}"


def _backend_packages() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for role, folder in (("store", "store"), ("source", "sources")):
        base = ROOT / "ghtrader_core" / folder
        found[role] = sorted(p.name for p in base.iterdir() if (p / "__init__.py").exists())
    return found


def test_the_daemon_names_no_backend_outside_the_registry() -> None:
    """No daemon module imports a backend package: the factory builds what a config names,
    and the config's [store.<kind>]/[source.<kind>] tables come from the registry."""
    packages = _backend_packages()
    prefixes = tuple(f"ghtrader_core.store.{k}" for k in packages["store"]) + tuple(
        f"ghtrader_core.sources.{k}" for k in packages["source"]
    )
    offenders = {}
    for path in sorted((ROOT / "daemon").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        named = sorted(n for n in imports_of(path) if n.startswith(prefixes))
        if named:
            offenders[rel] = named
    assert offenders == {}


def test_every_backend_package_registers_its_kind() -> None:
    from ghtrader_core.backends import kinds

    packages = _backend_packages()
    assert list(kinds("store")) == packages["store"]
    assert list(kinds("source")) == packages["source"]


# The one clock (ghtrader_core/calendar/clock.py) is the only module that asks the
# operating system for the wall time or the date; everyone else takes a Clock injected.
# A reference counts as much as a call: ``today: Callable[[], date] = date.today`` reads
# the operating system's date later, behind the clock's back.
CLOCK_MODULE = ROOT / "ghtrader_core" / "calendar" / "clock.py"
WALL_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
}


def wall_clock_calls(path: Path) -> list[str]:
    """``datetime.now``, ``datetime.utcnow``, ``date.today``, ``time.time``... called or
    referred to in ``path``, in line order (``datetime.datetime.now`` included)."""
    return wall_clock_uses(path.read_text(), str(path.relative_to(ROOT)))


def wall_clock_uses(source: str, label: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename=label)):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if (name, node.attr) in WALL_CALLS:
            found.append((node.lineno, f"{label}:{node.lineno} {name}.{node.attr}"))
    return [text for _, text in sorted(found)]


def test_the_wall_clock_is_read_in_one_module_only() -> None:
    files = [
        p
        for folder in ("ghtrader_core", "daemon")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if p != CLOCK_MODULE
    ]
    assert [c for p in files for c in wall_clock_calls(p)] == []
    assert wall_clock_calls(CLOCK_MODULE)  # the check itself sees a call where there is one


def test_the_wall_clock_check_sees_dates_and_references() -> None:
    """What the rule must catch, in the forms the code base has used."""
    source = (
        "import datetime as dt\n"
        "from datetime import date\n"
        "a = date.today()\n"
        "def f(today: object = date.today) -> None: ...\n"
        "c = dt.datetime.now()\n"
        "d = dt.date.today\n"
        "e = date.fromisoformat('2025-11-03')\n"  # not the clock: no finding
    )
    assert wall_clock_uses(source, "x.py") == [
        "x.py:3 date.today",
        "x.py:4 date.today",
        "x.py:5 datetime.now",
        "x.py:6 date.today",
    ]


# Records a store reads back or writes: built from rows and mapped to rows only in
# ghtrader_core/store/rows.py, the one mapping both stores share.
RECORDS = {
    "Checkpoint",
    "CoverageRow",
    "FailedDay",
    "GapRow",
    "IngestRun",
    "ManifestEntry",
    "RunCounts",
    "ValidationRow",
}
STORE_FILES = [
    p for p in CORE_FILES if p.relative_to(ROOT / "ghtrader_core").parts[0] == "store"
]


def _mapping_by_hand(path: Path) -> list[str]:
    """Records built by calling their class, and dict literals that are a row of a shared
    table (three or more keys, all of them that table's columns)."""
    from ghtrader_core.store import rows

    tables = [
        set(t)
        for t in (
            rows.CHECKPOINT_COLUMNS,
            rows.MANIFEST_COLUMNS,
            rows.FAILED_COLUMNS,
            rows.RUN_COLUMNS,
            rows.SUMMARY_COLUMNS,
            rows.FINDING_COLUMNS,
            rows.GAP_COLUMNS,
            rows.MARK_COLUMNS,
        )
    ]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in RECORDS:
                found.append(f"line {node.lineno}: {node.func.id}(...)")
        elif isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if len(keys) >= 3 and any(keys <= t for t in tables):
                found.append(f"line {node.lineno}: a row of {sorted(str(k) for k in keys)}")
    return found


@pytest.mark.parametrize("path", STORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_store_maps_records_to_rows_by_hand(path: Path) -> None:
    if path.name == "rows.py" and path.parent.name == "store":
        assert _mapping_by_hand(path), "the shared mapping must be where the rule looks"
        return
    assert _mapping_by_hand(path) == [], "use ghtrader_core.store.rows"


# docs/ARCHITECTURE.md's "Floors" list names every module: a line indented by two spaces
# starts an entry (a module, or a folder ending in "/" whose modules follow), deeper lines
# continue it; every ``name.py`` in an entry is a module of its folder.
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


def documented_modules(text: str) -> set[str]:
    block = text.split("## Floors", 1)[1].split("```", 2)[1]
    named: set[str] = set()
    section = folder = ""
    for line in block.splitlines():
        body = line.strip()
        if not body or body == "│":
            continue
        if not line[0].isspace():  # a top-level folder: daemon/, ghtrader_core/
            section = folder = body.split()[0]
            continue
        if len(line) - len(line.lstrip()) == 2:
            first = body.split()[0]
            folder = section + first if first.endswith("/") else section
        named.update(folder + name for name in re.findall(r"[\w/]+\.py\b", body))
    return named


def test_the_architecture_list_names_every_module_and_no_other() -> None:
    named = documented_modules(ARCHITECTURE.read_text())
    tree = {
        str(p.relative_to(ROOT))
        for folder in ("daemon", "ghtrader_core")
        for p in (ROOT / folder).rglob("*.py")
        if p.name != "__init__.py"
    }
    assert sorted(tree - named) == [], "add these to docs/ARCHITECTURE.md (Floors)"
    assert sorted(n for n in named if not (ROOT / n).is_file()) == [], "stale in the list"


def test_the_architecture_list_is_read_by_folder() -> None:
    text = """## Floors

```
daemon/                     the process
  app.py (+ endpoints.py)   main loop
  planner.py · sink.py ·
                            logs.py
  commands/                 run.py · common.py (config,
                            output) · export.py
ghtrader_core/
  store/base.py             protocol
  store/questdb/            store.py ·
                            csv_reads.py
```
"""
    assert documented_modules(text) == {
        "daemon/app.py",
        "daemon/endpoints.py",
        "daemon/planner.py",
        "daemon/sink.py",
        "daemon/logs.py",
        "daemon/commands/run.py",
        "daemon/commands/common.py",
        "daemon/commands/export.py",
        "ghtrader_core/store/base.py",
        "ghtrader_core/store/questdb/store.py",
        "ghtrader_core/store/questdb/csv_reads.py",
    }
