"""``ghtraderd``: the command line. Errors end as one clear line and a documented exit code
(``daemon.errors_exit`` is the one place that maps them)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from daemon.commands import command_modules
from daemon.errors_exit import exit_line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ghtraderd", description="ghTrader data daemon: Chinese futures L5 ticks."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in command_modules():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (Exception, KeyboardInterrupt, BaseExceptionGroup) as exc:
        return exit_line(exc)
    return code


if __name__ == "__main__":
    sys.exit(main())
