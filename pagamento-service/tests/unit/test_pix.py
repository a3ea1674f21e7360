"""The BR Code of a dynamic Pix charge, read back by decoders that are not ours: pytlv-codec
(EMV's tag-length-value fields, two digits each) and crc (CRC-16/IBM-3740, which the
Banco Central calls CRC16-CCITT with initial value 0xFFFF)."""

from __future__ import annotations

import pytest
from crc import Calculator, Crc16
from pytlv_codec import Codec, CodecConfig

from app.domain.codes import new_payment_code
from app.domain.pix import dynamic_br_code, is_txid, merchant_text

EMV = Codec(CodecConfig(tag_size=2, length_size=2))
LOCATION = "pix.example.com/qr/v2/9d36b84fc70b478fb95c12729b90ca25"


def decoded(payload: str) -> dict[str, str]:
    fields: dict[str, str] = EMV.decode(payload)
    return fields


def test_a_dynamic_br_code_has_every_field_the_banco_central_asks_and_nothing_else() -> None:
    payload = dynamic_br_code(f"https://{LOCATION}", "Mercado Veículo", "São Paulo")
    fields = decoded(payload)
    assert list(fields) == ["00", "01", "26", "52", "53", "58", "59", "60", "62", "63"]  # in order, once each
    assert fields["00"] == "01"  # payload format
    assert fields["01"] == "12"  # pays once
    assert decoded(fields["26"]) == {"00": "br.gov.bcb.pix", "25": LOCATION}  # the charge's URL, no scheme
    assert (fields["52"], fields["53"], fields["58"]) == ("0000", "986", "BR")
    assert (fields["59"], fields["60"]) == ("Mercado Veiculo", "Sao Paulo")  # no accents
    assert decoded(fields["62"]) == {"05": "***"}  # a dynamic charge's txid is at its location
    assert "54" not in fields  # nor its amount


def test_its_crc_is_the_crc16_ccitt_of_everything_before_it() -> None:
    payload = dynamic_br_code(LOCATION, "Mercado Veiculo", "Sao Paulo")
    body, crc = payload[:-4], payload[-4:]
    assert body.endswith("6304")
    assert crc == f"{Calculator(Crc16.IBM_3740.value).checksum(body.encode()):04X}"
    other = dynamic_br_code(LOCATION.replace("9d", "9e"), "Mercado Veiculo", "Sao Paulo")
    assert other[-4:] != crc  # one character changed, another check


@pytest.mark.parametrize(
    "location",
    ["x" * 78, "pix.example.com/qr v2", "pix.example.com/qr/ç", "pix.example.com/\n"],
)
def test_a_location_a_br_code_cannot_carry_is_refused(location: str) -> None:
    with pytest.raises(ValueError, match="location"):
        dynamic_br_code(location, "Mercado Veiculo", "Sao Paulo")


def test_merchant_names_lose_accents_and_punctuation_and_stay_within_their_field() -> None:
    assert merchant_text("  Mercado   Veículo Ltda. ", 25) == "Mercado Veiculo Ltda"
    assert merchant_text("São José dos Pinhais"[:15], 15) == "Sao Jose dos Pi"
    for bad in ("", "!!!", "x" * 26):
        with pytest.raises(ValueError, match="letters, digits or spaces"):
            merchant_text(bad, 25)


def test_every_payment_code_is_a_txid_of_the_api_pix() -> None:
    codes = {new_payment_code() for _ in range(500)}
    assert len(codes) == 500 and all(is_txid(c) for c in codes)
    assert not is_txid("MV" + "A" * 23) and not is_txid("MV" + "A" * 34) and not is_txid("MV-" + "A" * 24)
