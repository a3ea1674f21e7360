"""CPF: the Brazilian individual taxpayer number, 11 digits with two check digits."""

from __future__ import annotations

import re
import unicodedata

# ASCII digits only (mercado_shared.text): \d would take other scripts' digits too.
_NON_DIGITS = re.compile(r"[^0-9]")
_FORMATTED = re.compile(r"^[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}$")


class InvalidCpf(ValueError):
    pass


def _check_digit(digits: str) -> int:
    weight = len(digits) + 1
    total = sum(int(d) * (weight - i) for i, d in enumerate(digits))
    rest = total * 10 % 11
    return 0 if rest == 10 else rest


def normalize_cpf(value: str) -> str:
    """Digits only, check digits verified; accepts ``123.456.789-09`` or ``12345678909``."""
    value = unicodedata.normalize("NFKC", value).strip()
    if not _FORMATTED.match(value):
        raise InvalidCpf("a CPF has 11 digits, optionally formatted as 000.000.000-00")
    digits = _NON_DIGITS.sub("", value)
    if digits == digits[0] * 11:
        raise InvalidCpf("a CPF cannot repeat one digit")
    if _check_digit(digits[:9]) != int(digits[9]) or _check_digit(digits[:10]) != int(digits[10]):
        raise InvalidCpf("the CPF's check digits do not match")
    return digits


def mask_cpf(digits: str) -> str:
    """``***.456.789-**``: enough to recognise one's own document, not enough to use it."""
    if len(digits) != 11:
        return "***.***.***-**"
    return f"***.{digits[3:6]}.{digits[6:9]}-**"
