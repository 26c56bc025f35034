"""One module per sub-command, each with ``register(subparsers)``.

Modules are discovered, not listed: adding a command is adding one file here.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def command_modules() -> list[ModuleType]:
    mods = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            mods.append(module)
    return mods
