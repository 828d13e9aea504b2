from fractions import Fraction

import pytest

from verify.numbers import from_float, parse_rational, to_text


@pytest.mark.parametrize(
    "text, value",
    [
        ("0.1", Fraction(1, 10)),
        ("-0.25", Fraction(-1, 4)),
        ("1e-3", Fraction(1, 1000)),
        ("2.5E2", Fraction(250)),
        ("3/4", Fraction(3, 4)),
        ("-6/4", Fraction(-3, 2)),
        (" 7 ", Fraction(7)),
        (5, Fraction(5)),
        (Fraction(2, 3), Fraction(2, 3)),
    ],
)
def test_parse_rational_reads_text_exactly(text, value):
    assert parse_rational(text) == value


@pytest.mark.parametrize("bad", ["nan", "inf", "-Infinity", "1/0", "abc", "", "1/2/3", "0x10", "1e99999", True, None, [1], 0.5])
def test_parse_rational_rejects(bad):
    with pytest.raises(ValueError):
        parse_rational(bad)


def test_decimal_is_not_the_binary_float():
    # 0.1 as text is exactly 1/10; the binary float 0.1 is a different dyadic rational.
    assert parse_rational("0.1") != from_float(0.1)
    assert from_float(0.1) == Fraction(3602879701896397, 36028797018963968)


def test_to_text_round_trip():
    for q in [Fraction(0), Fraction(-7), Fraction(22, 7), Fraction(-1, 3)]:
        assert parse_rational(to_text(q)) == q
    assert to_text(Fraction(-1, 2)) == "-1/2" and to_text(Fraction(4, 2)) == "2"
