"""One module per sub-command, each with ``register(subparsers)``; the CLI lists them here."""

from daemon.commands import backfill, check_config, coverage

COMMANDS = [backfill, coverage, check_config]
