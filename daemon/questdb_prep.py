"""From the typed config and the secret to the QuestDB store's settings.

The password is read here, once, from ``QUESTDB_PASSWORD`` or systemd's
``$CREDENTIALS_DIRECTORY/questdb_password`` (never from the TOML) and is handed to the
store in fields whose repr hides it, so it cannot reach a log line.
"""

from __future__ import annotations

from collections.abc import Mapping

from daemon.config import QuestDBConfig
from daemon.secrets import read_secret
from ghtrader_core.errors import FatalError
from ghtrader_core.store.questdb.ilp import IlpSettings
from ghtrader_core.store.questdb.pg import PgSettings
from ghtrader_core.store.questdb.store import QuestDBSettings

PASSWORD_ENV = "QUESTDB_PASSWORD"
PASSWORD_CREDENTIAL = "questdb_password"


class MissingQuestDBPasswordError(FatalError):
    """No password was given: stop with a clear message rather than be refused later."""


def questdb_settings(q: QuestDBConfig, environ: Mapping[str, str] | None = None) -> QuestDBSettings:
    secret = read_secret(PASSWORD_CREDENTIAL, env=PASSWORD_ENV, environ=environ)
    if secret is None:
        raise MissingQuestDBPasswordError(
            f"no QuestDB password: set {PASSWORD_ENV} or give systemd "
            f"LoadCredential={PASSWORD_CREDENTIAL}:<file> (it is never read from the config)"
        )
    return QuestDBSettings(
        ilp=IlpSettings(
            host=q.host,
            port=q.http_port,
            tls=q.tls,
            protocol_version=q.protocol_version,
            threads=q.sender_threads,
            max_buf_size=q.max_buf_size_mb * 1024 * 1024,
            request_timeout_ms=int(q.request_timeout_s * 1000),
            retry_timeout_ms=int(q.retry_timeout_s * 1000),
            username=q.user if q.http_auth else None,
            password=secret.value if q.http_auth else None,
        ),
        pg=PgSettings(
            host=q.host,
            port=q.pg_port,
            user=q.user,
            database=q.database,
            password=secret.value,
            ssl=q.tls,
            pool_size=q.pool_size,
            connect_timeout_s=q.connect_timeout_s,
            query_timeout_s=q.query_timeout_s,
        ),
        visibility_timeout_s=q.visibility_timeout_s,
    )
