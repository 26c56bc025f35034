"""``ghtraderd``: the command line. Errors end as one clear line and a documented exit code
(``daemon.errors_exit`` is the one place that maps them).

A reader that goes away (``ghtraderd coverage | head -1``) is not an error: the output
still buffered when it left is dropped quietly and the command keeps its own exit code
(0 when it succeeded), instead of Python's "Exception ignored ... BrokenPipeError" and
status 120 at interpreter exit (README "Exit codes").
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from daemon.allocator import use_system_allocator_for_arrow
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
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already printed
        return _flushed(exc.code if isinstance(exc.code, int) else 2 if exc.code else 0)
    use_system_allocator_for_arrow()
    try:
        code: int = args.func(args)
    except (Exception, KeyboardInterrupt, BaseExceptionGroup) as exc:
        code = exit_line(exc)
    return _flushed(code)


def _flushed(code: int) -> int:
    """Flush stdout now, while a broken pipe can still be handled quietly."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left: drop the rest, and never flush into it again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return code


if __name__ == "__main__":
    sys.exit(main())
