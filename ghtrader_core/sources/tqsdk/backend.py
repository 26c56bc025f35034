"""The TqSdk source as a registered backend: ``[source.tqsdk]``, the account
(``TQSDK_USER``/``TQSDK_PASSWORD`` or ``$CREDENTIALS_DIRECTORY/tqsdk_user``/``tqsdk_password``,
never the TOML) and the builder. Its failures are classified in ``errors``.

``tqsdk`` itself is imported only when a TqSdk source is built."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ghtrader_core.backends import Backend, BuildContext, register
from ghtrader_core.errors import AuthError
from ghtrader_core.secrets import read_secret

if TYPE_CHECKING:
    from ghtrader_core.sources.tqsdk.source import Credentials, TqSdkSettings, TqSdkSource


class TqSdkConfigModel(BaseModel):
    """``[source.tqsdk]``. The account is not here: ``TQSDK_USER`` / ``TQSDK_PASSWORD`` or
    ``$CREDENTIALS_DIRECTORY/tqsdk_user`` / ``tqsdk_password``. Server URLs are TqSdk's own
    environment variables (``TQ_AUTH_URL``, ``TQ_MD_URL``, …), read by TqSdk itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_apis: int = Field(2, ge=1, le=16)  # live TqApi instances (account connection limit)
    recycle_after_days: int = Field(100, ge=1)  # a fresh TqApi after this many days (memory)
    wait_timeout_s: float = Field(30.0, gt=0, le=60)  # TqSdk's login/data waits, capped
    day_timeout_s: float = Field(900.0, gt=0)  # one fetch, queueing for a TqApi included
    cache_dir: Path | None = None  # TqSdk's disk cache; default <daemon.state_dir>/tqsdk-cache
    # TqApi sessions in worker processes (scale with cores, killed at day_timeout_s) or
    # threads of the daemon; workers = min(max_apis, download.concurrency, cores)
    processes: bool = True
    recycle_rss_mb: int = Field(1000, ge=0)  # a fresh worker once one holds this much (0: off)
    transfer: Literal["pickle", "arrow"] = "pickle"  # day frames from the workers


USER_ENV, PASSWORD_ENV = "TQSDK_USER", "TQSDK_PASSWORD"
USER_CRED, PASSWORD_CRED = "tqsdk_user", "tqsdk_password"


def tqsdk_credentials() -> Credentials:
    from ghtrader_core.sources.tqsdk.source import Credentials

    user = read_secret(USER_CRED, env=USER_ENV)
    password = read_secret(PASSWORD_CRED, env=PASSWORD_ENV)
    if user is None or password is None:
        missing = [
            f"{env} (or $CREDENTIALS_DIRECTORY/{cred})"
            for value, env, cred in (
                (user, USER_ENV, USER_CRED),
                (password, PASSWORD_ENV, PASSWORD_CRED),
            )
            if value is None
        ]
        raise AuthError(
            "TqSdk credentials missing: set "
            + " and ".join(missing)
            + "; they are never read from the config file"
        )
    return Credentials(user.value, password.value)


def tqsdk_workers(max_apis: int, concurrency: int) -> int:
    """Worker processes: no more than the account allows, the daemon fetches at once, or
    there are cores to decode on (a TqApi is CPU-bound)."""
    return max(1, min(max_apis, concurrency, len(os.sched_getaffinity(0))))


def tqsdk_settings(t: TqSdkConfigModel, state_dir: Path, concurrency: int = 1) -> TqSdkSettings:
    from ghtrader_core.sources.tqsdk.source import TqSdkSettings

    return TqSdkSettings(
        max_apis=tqsdk_workers(t.max_apis, concurrency) if t.processes else t.max_apis,
        recycle_after_days=t.recycle_after_days,
        recycle_rss_mb=t.recycle_rss_mb,
        processes=t.processes,
        transfer=t.transfer,
        wait_timeout_s=t.wait_timeout_s,
        day_timeout_s=t.day_timeout_s,
        cache_dir=t.cache_dir or state_dir / "tqsdk-cache",
    )


def build(section: Any, ctx: BuildContext) -> TqSdkSource:
    """Credentials from the environment or systemd credentials; AuthError when absent."""
    from ghtrader_core.sources.tqsdk.source import TqSdkSource, real_api_factory

    credentials = tqsdk_credentials()
    settings = tqsdk_settings(section.tqsdk, ctx.state_dir, ctx.concurrency)
    return TqSdkSource(
        ctx.calendar,
        settings,
        real_api_factory(credentials, settings),
        user=credentials.user,
        clock=ctx.clock,
    )


BACKEND = register(Backend("tqsdk", "source", build, config_model=TqSdkConfigModel))
