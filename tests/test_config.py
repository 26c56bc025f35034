from pathlib import Path

import pytest

from daemon.config import ConfigError, load_config
from ghtrader_core.sources.synthetic.backend import SyntheticConfigModel
from tests.pipeline_helpers import small_config
from tests.typing_helpers import backend_table


def test_demo_config_is_valid() -> None:
    cfg = load_config(Path(__file__).parents[1] / "config" / "demo.toml")
    assert cfg.ingest.symbols == ["KQ.m@SHFE.cu", "KQ.m@DCE.m", "KQ.m@CFFEX.IF"]
    assert cfg.download.concurrency == 4 and cfg.store.kind == "duckdb"


def test_environment_overrides_any_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = small_config(tmp_path)
    monkeypatch.setenv("GHTRADERD_STORE__PATH", "/tmp/elsewhere.duckdb")
    monkeypatch.setenv("GHTRADERD_DOWNLOAD__CONCURRENCY", "7")
    monkeypatch.setenv("GHTRADERD_SOURCE__SYNTHETIC__SEED", "5")
    cfg = load_config(path)
    assert str(cfg.store.path) == "/tmp/elsewhere.duckdb"
    assert cfg.download.concurrency == 7
    assert backend_table(cfg.source, "synthetic", SyntheticConfigModel).seed == 5
    assert cfg.sink.flush_interval_s == 0.2  # untouched keys keep the file's value


def test_invalid_values_name_file_key_value_and_what_is_allowed(tmp_path: Path) -> None:
    path = small_config(tmp_path, concurrency=0)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert str(path) in text and "download.concurrency = 0" in text
    assert "greater than or equal to 1" in text and "GHTRADERD_DOWNLOAD__CONCURRENCY" in text


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("[ingest]\nsymbols=['KQ.m@SHFE.zz']\nstart=2025-01-02\n", "unknown variety 'zz'"),
        ("[ingest]\nstart=2025-01-02\n", "ingest.symbols: Field required"),
        (
            "[ingest]\nsymbols=['KQ.m@SHFE.cu']\nstart=2025-01-02\n[store]\nkind='oracle'\n",
            "store.kind = 'oracle'",
        ),
        ("[ingest]\nsymbols=['KQ.m@SHFE.cu']\nstart=2025-01-02\ntypo=1\n", "ingest.typo"),
        (  # a backend's own table, built from the registry, still refuses unknown keys
            "[ingest]\nsymbols=['KQ.m@SHFE.cu']\nstart=2025-01-02\n[store.questdb]\nhots='x'\n",
            "store.questdb.hots",
        ),
        (
            "[ingest]\nsymbols=['KQ.m@SHFE.cu']\nstart=2025-01-02\n[source.tqsdk]\nuser='x'\n",
            "source.tqsdk.user",
        ),
        (
            "[ingest]\nsymbols=['KQ.m@SHFE.cu']\nstart=2025-01-02\n[source.nosuch]\nx=1\n",
            "source.nosuch",
        ),
        ("this is = not [toml", "not valid TOML"),
    ],
)
def test_each_problem_is_one_clear_line(tmp_path: Path, body: str, words: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace(".", r"\.")):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")


def test_config_version_changes_with_any_value(tmp_path: Path) -> None:
    a = load_config(small_config(tmp_path))
    b = load_config(small_config(tmp_path, concurrency=3))
    assert (
        a.version() != b.version() and a.version() == load_config(small_config(tmp_path)).version()
    )


def test_dated_night_hours_from_config_reach_the_calendar(tmp_path: Path) -> None:
    from datetime import date

    from daemon.factory import build_calendar
    from ghtrader_core.symbols import parse_main

    extra = """
[[calendar.night_hours]]
first = 2018-01-02
last = 2019-03-28
exchanges = ["DCE"]
end = "23:30"
"""
    cfg = load_config(small_config(tmp_path, extra=extra.replace("[[", "\n[[")))
    assert cfg.calendar.night_hours[0].end_s() == 23 * 3600 + 1800
    night = build_calendar(cfg).sessions(parse_main("KQ.m@DCE.m").variety, date(2018, 6, 5))[0]
    assert night.seconds == 2.5 * 3600
    bad = small_config(
        tmp_path,
        extra="\n[[calendar.night_hours]]\nfirst = 2018-01-02\n"
        'last = 2018-02-01\nend = "25:00"\nvarieties = ["DCE.zz"]\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert "expected HH:MM, got '25:00'" in str(info.value)
    assert "unknown variety 'zz'" in str(info.value)


def test_an_unknown_backend_key_is_one_line_and_exit_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from daemon.cli import main

    path = small_config(tmp_path)
    path.write_text(path.read_text() + "\n[store.questdb]\nhots = 'db'\n")
    assert main(["check-config", "-c", str(path)]) == 78
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == "ghtraderd: invalid config:" and len(err) == 2
    assert "store.questdb.hots = 'db'" in err[1] and "Extra inputs are not permitted" in err[1]


def test_a_registered_backend_brings_its_own_table(tmp_path: Path) -> None:
    """Adding a store is adding one package: its model becomes [store.<kind>] with no
    line in daemon/config.py (here a backend registered by the test, then removed)."""
    from pydantic import BaseModel, ConfigDict

    from daemon import config
    from ghtrader_core import backends

    class ParquetConfig(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        root: str = "var/parquet"

    backends.discover()
    fake = backends.Backend("parquet", "store", lambda s, c: None, config_model=ParquetConfig)
    backends.register(fake)
    try:
        model = config._with_backend_tables(config.StoreConfigBase, "store")
        section = model.model_validate({"kind": "parquet", "parquet": {"root": "/data"}})
        assert section.parquet == ParquetConfig(root="/data")  # type: ignore[attr-defined]
        assert "questdb" in model.model_fields  # the shipped ones stay
    finally:
        del backends._REGISTRY[("store", "parquet")]
