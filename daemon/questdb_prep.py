"""Moved: the QuestDB store's settings and password live in its package,
``ghtrader_core/store/questdb/backend.py``; kept importable here."""

from ghtrader_core.store.questdb.backend import (
    PASSWORD_CREDENTIAL,
    PASSWORD_ENV,
    MissingQuestDBPasswordError,
    questdb_settings,
)

__all__ = ["PASSWORD_CREDENTIAL", "PASSWORD_ENV", "MissingQuestDBPasswordError", "questdb_settings"]
