"""Numbers for people (``andon.text``): engineering format with units, ratios, sigmas.

Property tests: never an exponent, at most three significant digits, and the number read
back is the value within the rounding of those digits.
"""

from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st

from andon.text import eng, pretty_unit, sigma, times

_PREFIX = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_NUMBER = re.compile(r"^(-?[\d,]+(?:\.\d+)?)(?: ([kMGT]))?(?: (.+))?$")


def read_back(text: str) -> tuple[float, str]:
    """The number a person reads from ``eng``'s text, and the unit."""
    found = _NUMBER.match(text)
    assert found is not None, text
    number, prefix, unit = found.groups()
    return float(number.replace(",", "")) * _PREFIX.get(prefix or "", 1.0), unit or ""


@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_infinity=False),
       st.sampled_from(["", "rpm", "m^3/h", "degC", "mm/s"]))
def test_eng_never_writes_an_exponent_and_keeps_three_significant_digits(
    value: float, unit: str,
) -> None:
    text = eng(value, unit)
    assert "e" not in text.split(" ")[0].lower(), text
    number, shown_unit = read_back(text)
    assert shown_unit == pretty_unit(unit)
    if abs(value) < 1e-9:
        assert number == 0
        return
    digits = re.sub(r"[^\d]", "", text.split(" ")[0]).lstrip("0")
    assert len(digits.rstrip("0")) <= 3, text
    # three significant digits: within half a unit of the third digit
    step = 10 ** (math.floor(math.log10(abs(value))) - 2)
    assert abs(number - value) <= step * 0.5 + 1e-9 * abs(value) + 1e-12, (value, text)


def test_eng_examples_a_person_reads() -> None:
    assert eng(1360.0, "rpm") == "1,360 rpm"  # not 1.36e+03
    assert eng(1360.0) == "1,360"
    assert eng(123_456.0, "m^3/h") == "123,000 m³/h"
    assert eng(2_500_000.0, "Pa") == "2.5 M Pa"
    assert eng(47_200.0) == "47.2 k"
    assert eng(0.000123, "m") == "0.000123 m"
    assert eng(81.26, "degC") == "81.3 °C"
    assert eng(9.996) == "10"


def test_ratios_and_sigmas() -> None:
    assert times(2088.0) == "> 1,000×"  # not 2088×
    assert times(1.43) == "1.4×"
    assert times(999.4) == "999×"
    assert times(38.24) == "38.2×"
    assert sigma(4.07) == "4.1 σ"
    assert sigma(-12.4) == "12 σ"
    assert sigma(1e6) == "> 100 σ"
