"""Stores and sources, registered by kind: the one place that knows which exist.

Each backend package (``ghtrader_core/store/<kind>/``, ``ghtrader_core/sources/<kind>/``)
holds a ``backend.py`` that registers one ``Backend``: its kind, the model of its config
sub-table, its builder (config section → store or source; credentials read there) and
the classifier of its failures into the core's error classes. The daemon looks kinds up
here and names no backend itself; adding a store or a source is adding one package.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ghtrader_core.calendar import SYSTEM_CLOCK, Clock, TradingCalendar
from ghtrader_core.errors import GhtraderError

Role = Literal["store", "source"]


@dataclass(frozen=True)
class BuildContext:
    """What a builder may use besides its own config section."""

    calendar: TradingCalendar
    state_dir: Path = Path("var")
    read_only: bool = False  # a command that only reads: never create a store
    concurrency: int = 1  # download.concurrency: sources size their worker pools by it
    environ: Mapping[str, str] | None = None  # None: os.environ (secrets)
    clock: Clock = SYSTEM_CLOCK  # the composition root's clock: timestamps a backend writes


@dataclass(frozen=True)
class Backend:
    kind: str
    role: Role
    # (the whole [store] or [source] section, context) -> a Store or a TickSource
    build: Callable[[Any, BuildContext], Any]
    # its library's exceptions as core errors; None for an exception not its library's
    classify: Callable[[BaseException], GhtraderError | None] | None = None
    config_model: type[Any] | None = None  # the model of [<role>.<kind>], if it has one
    doc: str = field(default="", compare=False)


_REGISTRY: dict[tuple[Role, str], Backend] = {}


def register(backend: Backend) -> Backend:
    _REGISTRY[(backend.role, backend.kind)] = backend
    return backend


def discover() -> None:
    """Import every backend package's ``backend`` module (each registers itself)."""
    for package in ("ghtrader_core.store", "ghtrader_core.sources"):
        pkg = importlib.import_module(package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.ispkg:
                continue
            name = f"{package}.{info.name}.backend"
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise


def lookup(role: Role, kind: str) -> Backend:
    discover()
    try:
        return _REGISTRY[(role, kind)]
    except KeyError:
        raise KeyError(f"no {role} of kind {kind!r}; known: {', '.join(kinds(role))}") from None


def classify(exc: BaseException) -> GhtraderError | None:
    """A backend's library error that escaped its adapter, classified by that backend."""
    discover()
    for backend in _REGISTRY.values():
        if backend.classify is not None and (known := backend.classify(exc)) is not None:
            return known
    return None


def registered(role: Role) -> tuple[Backend, ...]:
    """Every backend of ``role``, by kind (the config builds its sub-tables from these)."""
    discover()
    return tuple(b for (r, _), b in sorted(_REGISTRY.items()) if r == role)


def kinds(role: Role) -> tuple[str, ...]:
    discover()
    return tuple(sorted(k for r, k in _REGISTRY if r == role))
