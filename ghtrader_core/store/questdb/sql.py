"""Every SQL statement the QuestDB store can send, as registered ``Sql`` values.

The store's PGWire client accepts only ``Sql`` objects, and every ``Sql`` registers itself
in ``REGISTRY`` when it is created; the schema module creates its DDL and migration
statements at import time. So the test that feeds the registry to QuestDB's own parser
(``@questdb/sql-parser``) sees every statement the store can issue: a new query cannot
skip the check by being a bare string.

Each statement carries ``example`` arguments of the right types; ``render`` substitutes
them as SQL literals (the parser knows no ``$n`` placeholders), so what is parsed is the
statement as the server would run it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

_PLACEHOLDER = re.compile(r"\$(\d+)")


@dataclass(frozen=True)
class Sql:
    """One statement: its name (for logs and test ids), text with ``$n``, example args."""

    name: str
    text: str
    example: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.params != len(self.example):
            raise ValueError(
                f"{self.name}: {self.params} placeholders but {len(self.example)} example args"
            )
        previous = REGISTRY.get(self.name)
        if previous is not None and previous.text != self.text:
            raise ValueError(f"two different statements named {self.name!r}")
        REGISTRY[self.name] = self

    @property
    def params(self) -> int:
        found = [int(n) for n in _PLACEHOLDER.findall(self.text)]
        return max(found, default=0)

    def render(self, args: tuple[Any, ...] | None = None) -> str:
        """The text with ``args`` (default: the example) in place as SQL literals."""
        values = self.example if args is None else args
        return _PLACEHOLDER.sub(lambda m: literal(values[int(m.group(1)) - 1]), self.text)


REGISTRY: dict[str, Sql] = {}


def literal(value: Any) -> str:
    """A value as a QuestDB SQL literal (timestamps as UTC ISO strings)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return "'" + value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "'"
    if isinstance(value, date):
        return "'" + value.isoformat() + "T00:00:00.000000Z'"
    return "'" + str(value).replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """A column or table name, double-quoted (``column`` and friends are reserved)."""
    return '"' + name.replace('"', '""') + '"'
