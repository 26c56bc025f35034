import pytest

from ghtrader_core.symbols import Exchange, SymbolError, parse_contract, parse_main


def test_main_symbol_round_trips_and_knows_its_exchange() -> None:
    sym = parse_main("KQ.m@SHFE.cu")
    assert str(sym) == "KQ.m@SHFE.cu"
    assert sym.exchange is Exchange.SHFE
    assert sym.variety.tick_size == 10


@pytest.mark.parametrize(
    ("text", "exchange", "year", "month"),
    [("SHFE.cu2501", "SHFE", 2025, 1), ("CZCE.SR501", "CZCE", 2025, 1),
     ("CFFEX.IF2612", "CFFEX", 2026, 12), ("DCE.m2609", "DCE", 2026, 9)],
)
def test_contracts_parse_including_czce_one_digit_year(
    text: str, exchange: str, year: int, month: int
) -> None:
    c = parse_contract(text, near_year=2025)
    assert (str(c.exchange), c.year, c.month) == (exchange, year, month)
    assert str(c) == text


@pytest.mark.parametrize(
    ("text", "words"),
    [("KQ.m@SHFE", "malformed"), ("SHFE.cu", "malformed"), ("KQ.m@XXX.cu", "unknown exchange"),
     ("KQ.m@SHFE.zz", "unknown variety"), ("SHFE.cu2513", "month 13"),
     ("CZCE.SR2501", "CZCE writes YMM")],
)
def test_malformed_symbols_get_a_clear_message(text: str, words: str) -> None:
    with pytest.raises(SymbolError, match=words):
        parse_main(text) if text.startswith("KQ") else parse_contract(text)
