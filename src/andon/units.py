"""Units via pint: one registry, the quantities Andon knows, and dimension checks.

A tag declares a *quantity* (temperature, pressure, ...) and a *unit*; the unit must measure that
quantity. ``check_unit`` returns the one-line reason when it does not.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pint

__all__ = ["QUANTITIES", "affine", "check_unit", "convert", "parse_duration_s", "registry"]


@lru_cache(maxsize=1)
def registry() -> Any:
    """Return the one pint registry (built once; building it is slow)."""
    reg: Any = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    for name, definition in (("percent", "percent = 0.01 = pct"),
                             ("rpm", "rpm = revolution / minute")):
        if name not in reg:
            reg.define(definition)
    return reg


#: quantity name -> a reference unit whose dimensionality defines it
QUANTITIES: dict[str, str] = {
    "temperature": "degC",
    "pressure": "bar",
    "velocity": "mm/s",
    "acceleration": "m/s**2",
    "flow": "m**3/h",
    "current": "A",
    "voltage": "V",
    "power": "kW",
    "energy": "kWh",
    "speed": "rpm",
    "frequency": "Hz",
    "force": "kN",
    "length": "mm",
    "mass": "kg",
    "ratio": "percent",
    "count": "dimensionless",
    "state": "dimensionless",
}


def check_unit(unit: str, quantity: str) -> str | None:
    """Return ``None`` if ``unit`` measures ``quantity``, else the reason why not."""
    reg = registry()
    if quantity not in QUANTITIES:
        known = ", ".join(sorted(QUANTITIES))
        return f"unknown quantity {quantity!r} (known: {known})"
    try:
        parsed = reg.Unit(unit)
    except Exception:  # noqa: BLE001 - pint's parser raises many types (TokenError, ...)
        return f"{unit!r} is not a unit pint knows"
    reference = reg.Unit(QUANTITIES[quantity])
    if parsed.dimensionality != reference.dimensionality:
        actual = next(
            (q for q, ref in QUANTITIES.items()
             if reg.Unit(ref).dimensionality == parsed.dimensionality),
            None,
        )
        what = f"it is a {actual} unit" if actual else f"it measures {parsed.dimensionality}"
        return (
            f"{unit!r} is not a {quantity} unit ({what}; use e.g. {QUANTITIES[quantity]})"
        )
    return None


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a magnitude between compatible units (offset units such as degF handled)."""
    reg = registry()
    return float(reg.Quantity(value, from_unit).to(to_unit).magnitude)


def affine(from_unit: str, to_unit: str) -> tuple[float, float]:
    """``(scale, offset)`` with ``convert(v, from_unit, to_unit) == v * scale + offset``.

    Derived from two conversions, so it holds for units pint relates linearly (every quantity
    Andon knows, offset units such as degF included); identical units give ``(1.0, 0.0)``.
    """
    if from_unit == to_unit:
        return 1.0, 0.0
    offset = convert(0.0, from_unit, to_unit)
    return convert(1.0, from_unit, to_unit) - offset, offset


def parse_duration_s(text: str | float) -> float:
    """Parse ``'60s'``, ``'30 min'``, ``'2h'`` or a number of seconds into seconds.

    >>> parse_duration_s('30min'), parse_duration_s('2h'), parse_duration_s(15)
    (1800.0, 7200.0, 15.0)
    """
    if isinstance(text, int | float):
        return float(text)
    reg = registry()
    try:
        q = reg.Quantity(text)
    except Exception as exc:  # pint raises many types for garbage
        raise ValueError(f"{text!r} is not a duration (e.g. '60s', '30min', '2h')") from exc
    if not hasattr(q, "dimensionality") or q.dimensionality != reg.Unit("s").dimensionality:
        raise ValueError(f"{text!r} is not a duration (e.g. '60s', '30min', '2h')")
    return float(q.to("s").magnitude)
