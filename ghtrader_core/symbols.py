"""Symbols of Chinese futures: main-continuous series and the contracts behind them.

TqSdk names a main-continuous series ``KQ.m@SHFE.cu`` and a contract ``SHFE.cu2501``
(CZCE writes the year with one digit: ``CZCE.SR501``). Everything downstream works on
the parsed values, so a malformed name is refused here, once, with a clear message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class SymbolError(ValueError):
    """A symbol that does not name a known exchange and variety."""


class Exchange(StrEnum):
    SHFE = "SHFE"
    INE = "INE"
    DCE = "DCE"
    CZCE = "CZCE"
    CFFEX = "CFFEX"
    GFEX = "GFEX"


@dataclass(frozen=True)
class Variety:
    """A traded product: where it trades, its price grid and its session family."""

    exchange: Exchange
    code: str
    tick_size: float
    night: str | None  # key into calendar.NIGHT_SESSIONS, None when there is no night
    day: str = "commodity"  # key into calendar.DAY_SESSIONS
    months: tuple[int, ...] = tuple(range(1, 13))  # listed months used for main rolls


def _v(ex: Exchange, code: str, tick: float, night: str | None, **kw: object) -> Variety:
    return Variety(ex, code, tick, night, **kw)  # type: ignore[arg-type]


_Q = (1, 5, 9)
_BOND = (3, 6, 9, 12)
VARIETIES: dict[tuple[Exchange, str], Variety] = {
    (v.exchange, v.code): v
    for v in [
        # SHFE
        _v(Exchange.SHFE, "cu", 10, "0100"),
        _v(Exchange.SHFE, "al", 5, "0100"),
        _v(Exchange.SHFE, "zn", 5, "0100"),
        _v(Exchange.SHFE, "pb", 5, "0100"),
        _v(Exchange.SHFE, "ni", 10, "0100"),
        _v(Exchange.SHFE, "sn", 10, "0100"),
        _v(Exchange.SHFE, "ss", 5, "0100"),
        _v(Exchange.SHFE, "ao", 1, "0100"),
        _v(Exchange.SHFE, "au", 0.02, "0230", months=(2, 4, 6, 8, 10, 12)),
        _v(Exchange.SHFE, "ag", 1, "0230", months=(2, 4, 6, 8, 10, 12)),
        _v(Exchange.SHFE, "rb", 1, "2300", months=_Q),
        _v(Exchange.SHFE, "hc", 1, "2300", months=_Q),
        _v(Exchange.SHFE, "bu", 1, "2300", months=(6, 12)),
        _v(Exchange.SHFE, "ru", 5, "2300", months=_Q),
        _v(Exchange.SHFE, "fu", 1, "2300", months=_Q),
        _v(Exchange.SHFE, "sp", 2, "2300", months=_Q),
        _v(Exchange.SHFE, "br", 5, "2300"),
        _v(Exchange.SHFE, "wr", 1, None),
        # INE
        _v(Exchange.INE, "sc", 0.1, "0230"),
        _v(Exchange.INE, "bc", 10, "0100"),
        _v(Exchange.INE, "lu", 1, "2300", months=_Q),
        _v(Exchange.INE, "nr", 5, "2300"),
        _v(Exchange.INE, "ec", 0.1, None, months=(2, 4, 6, 8, 10, 12)),
        # DCE
        _v(Exchange.DCE, "m", 1, "2300", months=_Q),
        _v(Exchange.DCE, "y", 2, "2300", months=_Q),
        _v(Exchange.DCE, "p", 2, "2300", months=_Q),
        _v(Exchange.DCE, "a", 1, "2300", months=_Q),
        _v(Exchange.DCE, "b", 1, "2300", months=_Q),
        _v(Exchange.DCE, "c", 1, "2300", months=_Q),
        _v(Exchange.DCE, "cs", 1, "2300", months=_Q),
        _v(Exchange.DCE, "i", 0.5, "2300", months=_Q),
        _v(Exchange.DCE, "j", 0.5, "2300", months=_Q),
        _v(Exchange.DCE, "jm", 0.5, "2300", months=_Q),
        _v(Exchange.DCE, "l", 1, "2300", months=_Q),
        _v(Exchange.DCE, "v", 1, "2300", months=_Q),
        _v(Exchange.DCE, "pp", 1, "2300", months=_Q),
        _v(Exchange.DCE, "eg", 1, "2300", months=_Q),
        _v(Exchange.DCE, "eb", 1, "2300"),
        _v(Exchange.DCE, "pg", 1, "2300"),
        _v(Exchange.DCE, "rr", 1, "2300", months=_Q),
        _v(Exchange.DCE, "jd", 1, None, months=_Q),
        _v(Exchange.DCE, "lh", 5, None, months=_Q),
        # CZCE
        _v(Exchange.CZCE, "SR", 1, "2300", months=_Q),
        _v(Exchange.CZCE, "CF", 5, "2300", months=_Q),
        _v(Exchange.CZCE, "TA", 2, "2300", months=_Q),
        _v(Exchange.CZCE, "MA", 1, "2300", months=_Q),
        _v(Exchange.CZCE, "RM", 1, "2300", months=_Q),
        _v(Exchange.CZCE, "OI", 1, "2300", months=_Q),
        _v(Exchange.CZCE, "FG", 1, "2300", months=_Q),
        _v(Exchange.CZCE, "SA", 1, "2300", months=_Q),
        _v(Exchange.CZCE, "PF", 2, "2300", months=_Q),
        _v(Exchange.CZCE, "PX", 2, "2300", months=_Q),
        _v(Exchange.CZCE, "SH", 1, "2300", months=_Q),
        _v(Exchange.CZCE, "AP", 1, None, months=(1, 5, 10)),
        _v(Exchange.CZCE, "UR", 1, None, months=_Q),
        _v(Exchange.CZCE, "SF", 2, None, months=_Q),
        _v(Exchange.CZCE, "SM", 2, None, months=_Q),
        _v(Exchange.CZCE, "CJ", 5, None, months=_Q),
        _v(Exchange.CZCE, "PK", 2, None, months=(1, 4, 10)),
        # CFFEX (no night session)
        _v(Exchange.CFFEX, "IF", 0.2, None, day="index"),
        _v(Exchange.CFFEX, "IH", 0.2, None, day="index"),
        _v(Exchange.CFFEX, "IC", 0.2, None, day="index"),
        _v(Exchange.CFFEX, "IM", 0.2, None, day="index"),
        _v(Exchange.CFFEX, "T", 0.005, None, day="bond", months=_BOND),
        _v(Exchange.CFFEX, "TF", 0.005, None, day="bond", months=_BOND),
        _v(Exchange.CFFEX, "TS", 0.002, None, day="bond", months=_BOND),
        _v(Exchange.CFFEX, "TL", 0.01, None, day="bond", months=_BOND),
        # GFEX (no night session)
        _v(Exchange.GFEX, "si", 5, None),
        _v(Exchange.GFEX, "lc", 20, None),
        _v(Exchange.GFEX, "ps", 5, None),
    ]
}

_MAIN_RE = re.compile(r"^KQ\.m@(?P<ex>[A-Z]+)\.(?P<var>[A-Za-z]+)$")
_CONTRACT_RE = re.compile(r"^(?P<ex>[A-Z]+)\.(?P<var>[A-Za-z]+)(?P<num>\d{3,4})$")


def variety_of(exchange: str, code: str) -> Variety:
    try:
        ex = Exchange(exchange)
    except ValueError:
        known = ", ".join(e.value for e in Exchange)
        raise SymbolError(f"unknown exchange {exchange!r} (known: {known})") from None
    variety = VARIETIES.get((ex, code))
    if variety is None:
        known = ", ".join(sorted(c for (e, c) in VARIETIES if e is ex))
        raise SymbolError(f"unknown variety {code!r} on {ex} (known: {known})")
    return variety


@dataclass(frozen=True)
class MainSymbol:
    """A main-continuous series, ``KQ.m@EX.var``."""

    variety: Variety

    @property
    def exchange(self) -> Exchange:
        return self.variety.exchange

    def __str__(self) -> str:
        return f"KQ.m@{self.variety.exchange}.{self.variety.code}"


@dataclass(frozen=True)
class Contract:
    """A listed contract, ``SHFE.cu2501`` (CZCE: ``CZCE.SR501``)."""

    variety: Variety
    year: int  # four digits
    month: int

    @property
    def exchange(self) -> Exchange:
        return self.variety.exchange

    def __str__(self) -> str:
        yy = self.year % 10 if self.exchange is Exchange.CZCE else self.year % 100
        width = 1 if self.exchange is Exchange.CZCE else 2
        return f"{self.exchange}.{self.variety.code}{yy:0{width}d}{self.month:02d}"


def parse_main(text: str) -> MainSymbol:
    m = _MAIN_RE.match(text.strip())
    if m is None:
        raise SymbolError(
            f"malformed main-continuous symbol {text!r}: expected KQ.m@EXCHANGE.variety, "
            "e.g. KQ.m@SHFE.cu"
        )
    return MainSymbol(variety_of(m["ex"], m["var"]))


def parse_contract(text: str, *, near_year: int = 2025) -> Contract:
    """Parse a contract; CZCE's one-digit year is resolved to the decade nearest ``near_year``."""
    m = _CONTRACT_RE.match(text.strip())
    if m is None:
        raise SymbolError(
            f"malformed contract {text!r}: expected EXCHANGE.varietyYYMM, e.g. SHFE.cu2501"
        )
    variety = variety_of(m["ex"], m["var"])
    num = m["num"]
    month = int(num[-2:])
    if not 1 <= month <= 12:
        raise SymbolError(f"malformed contract {text!r}: month {month:02d} is not 01..12")
    if variety.exchange is Exchange.CZCE:
        if len(num) != 3:
            raise SymbolError(f"malformed contract {text!r}: CZCE writes YMM, e.g. CZCE.SR501")
        digit = int(num[0])
        year = min(
            (near_year // 10 * 10 + d * 10 + digit for d in (-1, 0, 1)),
            key=lambda y: abs(y - near_year),
        )
    else:
        if len(num) != 4:
            raise SymbolError(f"malformed contract {text!r}: expected YYMM, e.g. SHFE.cu2501")
        year = 2000 + int(num[:2])
    return Contract(variety, year, month)


def parse_any(text: str) -> MainSymbol | Contract:
    return parse_main(text) if text.strip().startswith("KQ.") else parse_contract(text)
