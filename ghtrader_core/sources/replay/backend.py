"""The replay source as a registered backend: ``[source.replay]`` and its builder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ghtrader_core.backends import Backend, BuildContext, register
from ghtrader_core.sources.replay.source import ReplayConfig, ReplaySource


class ReplayConfigModel(BaseModel):
    """``[source.replay]``: a directory of exported CSV/Parquet tick files."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path | None = None
    recursive: bool = True

    def check_selected(self) -> None:
        """Selected as the source: the directory must exist (exit 78 at start, not every
        day failed later)."""
        if self.path is None:
            raise ValueError("source.kind = 'replay' needs source.replay.path (a directory)")
        if not self.path.exists():
            raise ValueError(f"replay directory {self.path} does not exist")
        if not self.path.is_dir():
            raise ValueError(f"replay directory {self.path} is a file, not a directory")


def build(section: Any, ctx: BuildContext) -> ReplaySource:
    r: ReplayConfigModel = section.replay
    r.check_selected()
    assert r.path is not None
    return ReplaySource(ctx.calendar, ReplayConfig(r.path, recursive=r.recursive))


BACKEND = register(Backend("replay", "source", build, config_model=ReplayConfigModel))
