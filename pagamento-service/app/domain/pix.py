"""The Pix BR Code of a dynamic charge: what a bank app reads from the QR or from "Pix
copia e cola". Pure: no I/O.

The Banco Central's "Manual de Padrões para Iniciação do Pix" (Anexo I of the Pix
regulation, https://www.bcb.gov.br/estabilidadefinanceira/pix) shapes it on EMV® QR Code
Merchant-Presented Mode: a list of fields, each an ID of two digits, a length of two
digits and its value. A dynamic charge carries no key and no amount: its field 26 holds
the URL of the charge at the receiver's provider (`location`, without "https://"), which
the payer's bank fetches (a JWS with the txid, the amount and the expiry). Field 62-05 is
"***" (the txid lives at the location), and field 63 is a CRC16-CCITT (polynomial
0x1021, initial value 0xFFFF) over everything before its value, "6304" included.
"""

from __future__ import annotations

import binascii
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

GUI = "br.gov.bcb.pix"
# A charge's txid in the API Pix (PUT /cob/{txid}): 26 to 35 letters or digits.
TXID = re.compile(r"[A-Za-z0-9]{26,35}")
MERCHANT_NAME_MAX = 25
MERCHANT_CITY_MAX = 15
LOCATION_MAX = 77  # what fits field 26 after its GUI: 99 - len("0014br.gov.bcb.pix") - len("25nn")


def is_txid(value: str) -> bool:
    return TXID.fullmatch(value) is not None


def merchant_text(text: str, limit: int) -> str:
    """A merchant's name or city as the BR Code carries it: ASCII letters, digits and
    spaces (accents dropped: "São Paulo" is "Sao Paulo"), at most ``limit`` characters."""
    ascii_only = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = " ".join(re.sub(r"[^A-Za-z0-9 ]", " ", ascii_only).split())
    if not cleaned or len(cleaned) > limit:
        raise ValueError(f"{text!r} must be 1 to {limit} letters, digits or spaces once its accents are dropped")
    return cleaned


def field(tag: str, value: str) -> str:
    if len(value) > 99 or not value:
        raise ValueError(f"field {tag} must hold 1 to 99 characters")
    return f"{tag}{len(value):02d}{value}"


def crc16(payload: str) -> str:
    """CRC16-CCITT (0x1021, initial 0xFFFF: CRC-16/IBM-3740), four upper-case hex digits."""
    return f"{binascii.crc_hqx(payload.encode('ascii'), 0xFFFF):04X}"


def dynamic_br_code(location: str, merchant_name: str, merchant_city: str) -> str:
    """The BR Code of the charge at ``location`` (a URL, with or without its https://)."""
    url = location.removeprefix("https://")
    if len(url) > LOCATION_MAX or not url.isascii() or not url.isprintable() or " " in url:
        raise ValueError("a charge's location must be a URL of at most 77 printable ASCII characters")
    payload = "".join(
        (
            field("00", "01"),  # payload format indicator
            field("01", "12"),  # point of initiation: this QR pays once
            field("26", field("00", GUI) + field("25", url)),  # merchant account: the charge's URL
            field("52", "0000"),  # merchant category code: not given
            field("53", "986"),  # currency: BRL (ISO 4217)
            field("58", "BR"),
            field("59", merchant_text(merchant_name, MERCHANT_NAME_MAX)),
            field("60", merchant_text(merchant_city, MERCHANT_CITY_MAX)),
            field("62", field("05", "***")),  # the txid is the location's
            "6304",
        )
    )
    return payload + crc16(payload)


@dataclass(frozen=True)
class Charge:
    txid: str
    location: str  # the charge's URL, which its BR Code carries
    amount: Decimal


class PixProviderError(Exception):
    """The provider refused or could not be reached; the command is delivered again."""


class RefundState(StrEnum):
    """A devolução's status in the API Pix."""

    PROCESSING = "EM_PROCESSAMENTO"
    RETURNED = "DEVOLVIDO"
    REFUSED = "NAO_REALIZADO"


class PixCharges(Protocol):
    """The provider's charges and devoluções (app.adapters.pix_api)."""

    def create_charge(self, txid: str, amount: Decimal, expires_in: int) -> Charge: ...

    def refund(self, end_to_end_id: str, refund_id: str, amount: Decimal) -> RefundState:
        """Ask the devolução ``refund_id`` of the Pix ``end_to_end_id`` (or, asked before,
        read it): its state now."""
        ...
