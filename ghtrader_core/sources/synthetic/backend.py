"""The synthetic source as a registered backend: ``[source.synthetic]`` and its builder."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ghtrader_core.backends import Backend, BuildContext, register
from ghtrader_core.sources.synthetic.source import FAULT_KINDS, SyntheticConfig, SyntheticSource
from ghtrader_core.symbols import Exchange


class SyntheticConfigModel(BaseModel):

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    latency_s: float = Field(0.0, ge=0)
    timeout_rate: float = Field(0.0, ge=0, le=1)
    maintenance_rate: float = Field(0.0, ge=0, le=1)
    maintenance_wait_s: float = Field(1.0, ge=0)
    faults: dict[str, float] = Field(default_factory=dict)
    l5_exchanges: list[Exchange] = [Exchange.SHFE, Exchange.INE]

    @field_validator("faults")
    @classmethod
    def _known_faults(cls, value: dict[str, float]) -> dict[str, float]:
        for kind, rate in value.items():
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; allowed: {', '.join(FAULT_KINDS)}")
            if not 0 <= rate <= 1:
                raise ValueError(f"rate of {kind!r} must be within 0..1, got {rate}")
        return value


def build(section: Any, ctx: BuildContext) -> SyntheticSource:
    s: SyntheticConfigModel = section.synthetic
    return SyntheticSource(
        ctx.calendar,
        SyntheticConfig(
            seed=s.seed,
            latency_s=s.latency_s,
            timeout_rate=s.timeout_rate,
            maintenance_rate=s.maintenance_rate,
            maintenance_wait_s=s.maintenance_wait_s,
            fault_rates=dict(s.faults),
            l5_exchanges=tuple(str(e) for e in s.l5_exchanges),
        ),
    )


BACKEND = register(Backend("synthetic", "source", build, config_model=SyntheticConfigModel))
