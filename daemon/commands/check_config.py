"""``ghtraderd check-config``: validate a config file without starting anything."""

from __future__ import annotations

import argparse

from daemon import exitcodes
from daemon.commands.common import add_config_arg, load, opened_store, run
from daemon.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check-config", help="validate a config file and print its summary")
    add_config_arg(p)
    p.add_argument(
        "--ping",
        action="store_true",
        help="also open the store (creating or migrating its schema), check it answers and, "
        "where the store can, that its files read back undamaged",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    cfg = load(args)
    print(f"{args.config}: ok (config version {cfg.version()})")
    print(f"  store   {cfg.store.kind}")
    print(f"  source  {cfg.source.kind}")
    print(f"  symbols {', '.join(cfg.ingest.symbols)}")
    print(f"  range   {cfg.ingest.start} .. {cfg.ingest.end or 'last complete trading day'}")
    print(f"  download.concurrency {cfg.download.concurrency}")
    if getattr(args, "ping", False):
        run(lambda: _ping(cfg))  # StoreUnavailableError -> exit 75 in the CLI
        print(f"  store answers ({cfg.store.kind})")
    return exitcodes.OK


async def _ping(cfg: Config) -> int:
    async with opened_store(cfg) as store:
        await store.ping()
        verify = getattr(store, "verify", None)  # a store that can check its own files
        if verify is not None:
            await verify()
    return exitcodes.OK
