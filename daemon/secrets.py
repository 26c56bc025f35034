"""Secrets come from the environment or systemd credentials: see ``ghtrader_core.secrets``
(moved there so each backend package reads its own credentials); kept importable here."""

from ghtrader_core.secrets import Secret, read_secret

__all__ = ["Secret", "read_secret"]
