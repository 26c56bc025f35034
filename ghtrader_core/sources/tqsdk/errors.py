"""What a TqSdk failure means for the daemon: fatal, maintenance, retryable or permanent.

TqSdk raises plain ``Exception`` with a Chinese message for most failures, ``TqTimeoutError``
when a wait runs out, ``AssertionError`` when a download breaks off, and lets ``requests``
errors through when the auth server cannot be reached. The texts below are those of tqsdk
3.10.4 (``auth.py``, ``api.py``, ``data_series.py``); ``tests/test_sources_tqsdk_*`` check
them against the installed package, so a new release that rewords them fails loudly.
"""

from __future__ import annotations

from ghtrader_core.errors import (
    FatalError,
    GhtraderError,
    MaintenanceError,
    PermanentError,
    RetryableError,
    SourceDownError,
    SourceUnavailableError,
    source_down,
)

LOGIN_REFUSED = "用户权限认证失败"  # auth.py: token endpoint answered non-200
NO_PRO = "仅限专业版用户使用"  # api.py: get_*_data_series without the tq_dl grant
NO_MARKET_GRANT = "不支持查看"  # auth.py: no futr grant for the exchange
NO_AUTH = "请输入 auth"  # api.py: TqApi without credentials
MAINTENANCE = ("运维", "维护", "maintenance")  # name service at 19:00-19:30, server notices
UNKNOWN_SYMBOL = ("查询合约服务报错", "不存在", "应该全部都是主连合约代码")
NETWORK_HINT = "check the network and that the TqSdk servers are reachable"
DETAIL_CHARS = 160  # requests' connection errors run to several hundred characters


class SourceUnreachableError(SourceUnavailableError):
    """TqSdk's servers cannot be reached at all (connection refused, DNS, no route): retried
    like any transient error, but when the retries run out it is the source that failed,
    not the day (``ghtrader_core.errors.source_down``)."""


__all__ = ["SourceDownError", "SourceUnreachableError", "classify", "source_down"]


def classify(exc: BaseException, *, user: str = "") -> GhtraderError:
    """Map an exception raised by TqSdk (or around it) to one of the daemon's classes.

    The messages name what the user can do; the password never appears (TqSdk does not
    echo it either: its refusal carries the HTTP status and the server's JSON answer).
    """
    if isinstance(exc, GhtraderError):
        return exc
    text = str(exc)
    kind = type(exc).__name__
    who = f" for user {user!r}" if user else ""
    if LOGIN_REFUSED in text:
        return FatalError(
            f"TqSdk login refused{who}: wrong user name or password, or the account is "
            f"locked (check TQSDK_USER / TQSDK_PASSWORD). TqSdk said: {text}"
        )
    if NO_PRO in text:
        return FatalError(
            f"the TqSdk account{who} has no Pro permission (tq_dl): tick downloads need "
            f"TqSdk Pro (https://www.shinnytech.com/tqsdk-buy/). TqSdk said: {text}"
        )
    if NO_MARKET_GRANT in text or NO_AUTH in text:
        return FatalError(f"TqSdk refused{who}: {text}")
    if any(word in text for word in MAINTENANCE):
        return MaintenanceError(f"TqSdk maintenance window: {text}")
    if any(word in text for word in UNKNOWN_SYMBOL):
        return PermanentError(f"unknown symbol: {text}")
    if kind == "TqTimeoutError":
        return RetryableError(f"TqSdk time-out ({NETWORK_HINT}): {text}")
    if isinstance(exc, AssertionError):
        return RetryableError(f"TqSdk download broke off: {text or 'assertion failed'}")
    if isinstance(exc, (ConnectionError, TimeoutError, OSError)) or _is_requests_error(exc):
        return SourceUnreachableError(
            f"cannot reach TqSdk ({NETWORK_HINT}): {kind}: {_short(text)}"
        )
    return RetryableError(f"TqSdk error {kind}: {text}")


def _short(text: str) -> str:
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"


def _is_requests_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith(("requests", "urllib3", "aiohttp", "websockets"))
