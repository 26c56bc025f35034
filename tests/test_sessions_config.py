"""``[[calendar.regimes]]``: rows added to the shipped session history from config."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from daemon.config import ConfigError, load_config
from daemon.factory import build_calendar
from ghtrader_core.symbols import parse_main
from tests.pipeline_helpers import small_config

EB_FIRST_NIGHT = """
[[calendar.regimes]]
exchanges = ["DCE"]
varieties = ["eb"]
session = "night"
kind = "introduced"
first = 2019-09-27
start = "21:00"
end = "23:00"
source = "DCE notice [2019] (checked by the operator)"

[[calendar.regimes]]
exchanges = ["SHFE"]
varieties = ["cu"]
session = "day"
kind = "one-off"
first = 2025-11-04
last = 2025-11-04
segments = "am1=09:00-10:15"
"""


def test_config_rows_add_to_the_history_and_win_ties(tmp_path: Path) -> None:
    cal = build_calendar(load_config(small_config(tmp_path, extra=EB_FIRST_NIGHT)))
    eb = cal.schedule(parse_main("KQ.m@DCE.eb").variety, date(2019, 10, 9))
    assert eb.night_held and eb.night_firm  # the shipped row is inferred; config is firm
    assert eb.night[0].ref.startswith("config") and eb.night[0].source.startswith("DCE notice")
    cu = [s.name for s in cal.sessions(parse_main("KQ.m@SHFE.cu").variety, date(2025, 11, 4))]
    assert cu == ["night", "am1"]
    default = build_calendar(load_config(small_config(tmp_path)))
    assert not default.schedule(parse_main("KQ.m@DCE.eb").variety, date(2019, 10, 9)).night_firm


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('varieties = ["eb"]\nsession = "night"\nkind = "hours"\nstart = "21:00"', "start and end"),
        ('varieties = ["zz"]\nsession = "night"\nkind = "suspended"', "unknown variety 'zz'"),
        ('session = "day"\nkind = "hours"\nsegments = "am=9-10"', "expected HH:MM"),
    ],
)
def test_a_bad_config_row_is_one_readable_config_error(
    tmp_path: Path, row: str, message: str
) -> None:
    extra = f'[[calendar.regimes]]\nexchanges = ["DCE"]\n{row}\n'
    with pytest.raises(ConfigError, match=r"calendar\.regimes") as err:
        load_config(small_config(tmp_path, extra=extra))
    assert message in str(err.value)
