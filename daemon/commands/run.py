"""``ghtraderd run``: the long-running service (see ``daemon.app`` for its lifecycle)."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from functools import partial
from pathlib import Path

import anyio

from daemon.app import Daemon
from daemon.commands.common import add_config_arg, load, run
from daemon.lifecycle import handle_signals
from daemon.systemd import Notifier


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="catch up, then keep the store current; reload on SIGHUP, drain on SIGTERM",
    )
    add_config_arg(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    cfg = load(args)
    daemon = Daemon(Path(args.config), cfg, notifier=Notifier.from_environ())

    async def go() -> int:
        async with anyio.create_task_group() as tg:
            await tg.start(
                partial(
                    handle_signals,
                    daemon,
                    drain_timeout_s=cfg.daemon.drain_timeout_s,
                    reload=daemon.reload,
                )
            )
            code = await daemon.serve()
            tg.cancel_scope.cancel()
        return code

    code = run(go)
    if daemon.forced and _abandoned_threads():
        # A forced stop abandoned downloads blocked in worker threads; everything durable
        # is checkpointed, so end now instead of waiting for the source to answer.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _abandoned_threads() -> bool:
    return any(
        t.is_alive() and not t.daemon and t is not threading.main_thread()
        for t in threading.enumerate()
    )
