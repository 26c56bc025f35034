"""Secrets come from the environment or from systemd credentials, never from config files.

``read_secret("questdb_password", env="QUESTDB_PASSWORD")`` looks at the environment
variable first, then at ``$CREDENTIALS_DIRECTORY/questdb_password`` (systemd's
``LoadCredential=``). The value is returned as a ``Secret`` whose repr hides it, so it
cannot leak into a log line by accident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Secret:
    value: str

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def read_secret(name: str, *, env: str, environ: Mapping[str, str] | None = None) -> Secret | None:
    environ = os.environ if environ is None else environ
    if environ.get(env):
        return Secret(environ[env])
    cred_dir = environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        path = Path(cred_dir) / name
        if path.is_file():
            return Secret(path.read_text(encoding="utf-8").rstrip("\n"))
    return None
