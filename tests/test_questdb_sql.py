"""Every SQL statement the QuestDB store can issue, parsed by QuestDB's own parser.

The statements come from the store's registry (``questdb_sql.REGISTRY``): the PGWire
client accepts only registered ``Sql`` values, the schema registers its DDL and every
migration at import, and a scan of the store's source fails on any SQL text written
outside ``Sql(...)``. Parameters are substituted with example values of their types.
Node runs once for all statements (``tests/questdb_sql_check.mjs``).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import ghtrader_core.store.questdb.store as store_module
from ghtrader_core.store.questdb import queries as questdb_queries
from ghtrader_core.store.questdb import schema as questdb_schema
from ghtrader_core.store.questdb.pg import AsyncpgClient
from ghtrader_core.store.questdb.sql import REGISTRY, Sql

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "questdb_sql_check.mjs"
STORE_DIR = REPO / "ghtrader_core" / "store" / "questdb"
NEGATIVE = {
    "negative_partition_by_days": (
        "CREATE TABLE t (ts TIMESTAMP, x DOUBLE) TIMESTAMP(ts) PARTITION BY DAYS WAL"
    ),
    "negative_misspelt_select": "SELEC symbol FROM checkpoints",
}


def parse_all(statements: dict[str, str]) -> dict[str, list[str]]:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: it runs QuestDB's SQL parser (see `make tools`)")
    if not (REPO / "node_modules" / "@questdb" / "sql-parser").is_dir():
        pytest.fail("npm package @questdb/sql-parser is missing: run `make tools`")
    payload = json.dumps([{"name": n, "sql": s} for n, s in statements.items()])
    done = subprocess.run(
        ["node", str(SCRIPT)], input=payload, capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return {r["name"]: r["errors"] for r in json.loads(done.stdout)}


@pytest.fixture(scope="module")
def parsed() -> dict[str, list[str]]:
    statements = {name: sql.render() for name, sql in REGISTRY.items()}
    statements.update(NEGATIVE)
    return parse_all(statements)


def test_the_registry_holds_ddl_migrations_and_queries() -> None:
    assert {t.create.name for t in questdb_schema.TABLES} <= set(REGISTRY)
    for table in questdb_schema.TABLES:
        for column in table.columns:
            assert table.add_column(column).name in REGISTRY
    constants = [v for v in vars(questdb_queries).values() if isinstance(v, Sql)]
    assert constants and all(REGISTRY[c.name] is c for c in constants)
    assert len(REGISTRY) > 100


def test_every_statement_parses(parsed: dict[str, list[str]]) -> None:
    failures = {n: e for n, e in parsed.items() if e and not n.startswith("negative_")}
    assert not failures, json.dumps(failures, indent=1)


def test_the_parser_rejects_what_questdb_rejects(parsed: dict[str, list[str]]) -> None:
    assert parsed["negative_partition_by_days"], "PARTITION BY DAYS must be refused"
    assert parsed["negative_misspelt_select"]


def test_statements_are_parsed_with_their_parameters_in_place() -> None:
    rendered = questdb_queries.READ_DAY.render()
    assert "$" not in rendered and "'KQ.m@SHFE.cu'" in rendered
    assert "'2025-10-28T00:00:00.000000Z'" in rendered
    assert questdb_queries.FAILED_INSERT.render().count("''") == 1  # quote escaped
    assert all("$" not in sql.render() for sql in REGISTRY.values())


def test_ticks_ddl_is_ns_safe_and_idempotent() -> None:
    ddl = questdb_schema.TICKS.create.text
    assert "ts TIMESTAMP_NS" in ddl and "TIMESTAMP(ts) PARTITION BY DAY WAL" in ddl
    assert ddl.endswith("DEDUP UPSERT KEYS(ts, symbol, id)")
    for table in questdb_schema.TABLES:
        assert " WAL DEDUP UPSERT KEYS(" in table.create.text, table.name


_SQL_START = re.compile(r"^\s*(SELECT|INSERT|CREATE|ALTER|DROP|UPDATE|TRUNCATE|WITH|SHOW|DELETE)\b")


def _sql_literals_outside_sql_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Sql":
            inside.update(id(n) for n in ast.walk(node))
    stray: list[str] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _SQL_START.match(node.value)
            and id(node) not in inside
        ):
            stray.append(f"{path.name}:{node.lineno}: {node.value[:60]!r}")
    return stray


def test_no_sql_text_outside_registered_statements() -> None:
    files = sorted(STORE_DIR.glob("*.py"))
    assert Path(store_module.__file__).resolve() in {f.resolve() for f in files}
    stray = [s for f in files for s in _sql_literals_outside_sql_calls(f)]
    assert not stray, "\n".join(stray)


def test_the_scan_would_catch_a_bare_query(tmp_path: Path) -> None:
    bad = tmp_path / "questdb_bad.py"
    bad.write_text('QUERY = "SELECT * FROM ticks"\nOK = Sql("x", "SELECT 1")\n')
    assert _sql_literals_outside_sql_calls(bad) == ["questdb_bad.py:1: 'SELECT * FROM ticks'"]


async def test_the_pg_client_refuses_unregistered_text() -> None:
    client: Any = AsyncpgClient(pool=None, settings=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="registered Sql"):
        await client.fetch("SELECT 1")


def test_example_arguments_match_placeholders() -> None:
    with pytest.raises(ValueError, match="placeholders"):
        Sql("test_bad_example", "SELECT $1, $2", (1,))
    assert "test_bad_example" not in REGISTRY
