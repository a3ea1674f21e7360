"""Digits are ASCII: a numeric identifier or amount in another script is refused.

Python and PostgreSQL read more than ``0-9`` as digits: ``\\d`` matches Arabic-Indic and
full-width digits, ``int()`` and ``Decimal()`` accept them. So the same CPF could register
twice (its blind index differed) and be stored in a form no invoice accepts. Input is put
in NFKC form first, which turns full-width forms (``５２９``, ``ＡＢＣ``) into ASCII, and
what is still not ASCII is refused. ``ascii_digits`` is for data already stored: it maps
any script's decimal digits to ASCII.
"""

from __future__ import annotations

import unicodedata
from typing import Any

ASCII_DIGITS = "0123456789"


def nfkc(value: Any) -> Any:
    """For a BeforeValidator: text in NFKC form, anything else as it is."""
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


def ascii_numeral(value: Any) -> Any:
    """For a BeforeValidator of an amount: a string must be ASCII after NFKC."""
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value)
        if not value.isascii():
            raise ValueError("an amount is written with the digits 0-9")
    return value


def ascii_digits(value: str) -> str:
    """Every decimal digit of any script as its ASCII digit; other characters as they are."""
    return "".join(
        ASCII_DIGITS[unicodedata.digit(c)] if c.isdecimal() and not c.isascii() else c
        for c in unicodedata.normalize("NFKC", value)
    )
