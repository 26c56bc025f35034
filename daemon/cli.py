"""``ghtraderd``: the command line. Errors end as one clear line and a documented exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from daemon import exitcodes
from daemon.commands import command_modules
from daemon.config import ConfigError
from daemon.planner import PlanError
from ghtrader_core.errors import FatalError, StoreUnavailableError
from ghtrader_core.symbols import SymbolError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ghtraderd", description="ghTrader data daemon: Chinese futures L5 ticks."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in command_modules():
        module.register(sub)
    return parser


_KNOWN = (ConfigError, PlanError, SymbolError, FatalError, StoreUnavailableError)


def _leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error that matters inside task-group exception groups: the first one with a
    documented exit code, else the first leaf."""
    known = group.subgroup(lambda e: isinstance(e, _KNOWN))
    exc: BaseException = known if known is not None else group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        try:
            code: int = args.func(args)
        except BaseExceptionGroup as group:
            raise _leaf(group) from group
    except ConfigError as exc:
        print(f"ghtraderd: invalid config:\n{exc}", file=sys.stderr)
        return exitcodes.CONFIG
    except (PlanError, SymbolError) as exc:
        print(f"ghtraderd: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    except StoreUnavailableError as exc:
        print(f"ghtraderd: store unavailable, retry later: {exc}", file=sys.stderr)
        return exitcodes.TEMPFAIL
    except FatalError as exc:
        print(f"ghtraderd: {exc}", file=sys.stderr)
        return exc.exit_code
    return code


if __name__ == "__main__":
    sys.exit(main())
