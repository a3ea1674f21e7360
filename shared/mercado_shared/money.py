"""Money is exact: Decimal in Python, NUMERIC(14, 2) in PostgreSQL, never float.

``Amount`` travels inside messages as a JSON string (exact, no parser can round it).
``Money`` is what the public API reads and writes: a JSON number with at most two
decimals, as the contract fixes. Twelve integer digits and two decimals fit a double's
15 significant digits, so the number a client reads is the exact stored value.
"""

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer

from mercado_shared.text import ascii_numeral

MAX_DIGITS = 14
DECIMAL_PLACES = 2

# A string amount in another script's digits (Decimal() reads them) is refused.
Amount = Annotated[
    Decimal, BeforeValidator(ascii_numeral), Field(ge=0, max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
]

Money = Annotated[
    Decimal,
    BeforeValidator(ascii_numeral),
    Field(ge=0, max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, examples=[89900.0]),
    PlainSerializer(float, return_type=float, when_used="json"),
]

ZERO = Decimal("0.00")


def quantize(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))
