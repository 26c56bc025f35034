"""The rules of the layout, checked on the source: imports point one way."""

from __future__ import annotations

import ast
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
