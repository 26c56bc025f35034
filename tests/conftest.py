"""Session-wide test plugins: the real QuestDB server (``tests/questdb_server.py``)."""

pytest_plugins = ("tests.questdb_server",)
