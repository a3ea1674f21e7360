"""Brazilian vehicle identifiers: licence plate, chassis number (VIN) and RENAVAM."""

from __future__ import annotations

import re
import unicodedata

_OLD_PLATE = re.compile(r"^[A-Z]{3}[0-9]{4}$")
_MERCOSUL_PLATE = re.compile(r"^[A-Z]{3}[0-9][A-Z][0-9]{2}$")
_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
_RENAVAM_WEIGHTS = (3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


class InvalidIdentifier(ValueError):
    pass


def normalize_plate(value: str) -> str:
    """``ABC1234``, ``ABC-1234`` or Mercosul ``ABC1D23`` → upper case without the dash."""
    plate = unicodedata.normalize("NFKC", value).strip().upper().replace("-", "").replace(" ", "")
    if not (_OLD_PLATE.match(plate) or _MERCOSUL_PLATE.match(plate)):
        raise InvalidIdentifier("a plate is ABC1234 (old) or ABC1D23 (Mercosul)")
    return plate


def plate_key(plate: str) -> str:
    """One key for both forms of a plate: the Mercosul form (ABC1234 became ABC1C34)."""
    if _OLD_PLATE.match(plate):
        return plate[:4] + chr(ord("A") + int(plate[4])) + plate[5:]
    return plate


def normalize_chassis(value: str) -> str:
    vin = unicodedata.normalize("NFKC", value).strip().upper()
    if not _VIN.match(vin):
        raise InvalidIdentifier("a chassis number has 17 letters and digits, without I, O or Q")
    return vin


def renavam_check_digit(first_ten: str) -> int:
    total = sum(int(d) * w for d, w in zip(first_ten, _RENAVAM_WEIGHTS, strict=True))
    digit = total * 10 % 11
    return 0 if digit == 10 else digit


def normalize_renavam(value: str) -> str:
    digits = unicodedata.normalize("NFKC", value).strip()
    if not re.fullmatch(r"[0-9]{9,11}", digits):  # ASCII: \d takes other scripts' digits too
        raise InvalidIdentifier("a RENAVAM has 11 digits (9 or 10 are left-padded with zeros)")
    digits = digits.zfill(11)
    if renavam_check_digit(digits[:10]) != int(digits[10]):
        raise InvalidIdentifier("the RENAVAM's check digit does not match")
    return digits
