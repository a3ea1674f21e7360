"""Request and response bodies of veiculo-service."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.adapters.repository import Position
from app.domain.identifiers import InvalidIdentifier, normalize_chassis, normalize_plate, normalize_renavam
from app.domain.model import Vehicle
from mercado_shared.errors import Unprocessable
from mercado_shared.ids import is_uuid
from mercado_shared.money import Money


def _checked(normalize: object) -> AfterValidator:
    def check(value: str) -> str:
        try:
            return normalize(value)  # type: ignore[operator, no-any-return]
        except InvalidIdentifier as exc:
            raise ValueError(str(exc)) from None

    return AfterValidator(check)


Plate = Annotated[str, _checked(normalize_plate)]
Chassis = Annotated[str, _checked(normalize_chassis)]
Renavam = Annotated[str, _checked(normalize_renavam)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
PositivePrice = Annotated[Money, Field(gt=0)]


def _year(value: int) -> int:
    if not 1900 <= value <= datetime.now(UTC).year + 1:
        raise ValueError("the year must be between 1900 and next year")
    return value


Year = Annotated[int, AfterValidator(_year)]


class VehicleCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "brand": "Volkswagen",
                    "model": "Gol",
                    "year": 2019,
                    "color": "Prata",
                    "price": 45900.0,
                    "license_plate": "ABC1D23",
                    "chassi_number": "9BWZZZ377VT004251",
                    "renavam": "12345678900",
                }
            ]
        },
    )

    brand: Text
    model: Text
    year: Year
    color: Text
    price: PositivePrice
    license_plate: Plate
    chassi_number: Chassis
    renavam: Renavam


class VehicleRead(BaseModel):
    id: str
    brand: str
    model: str
    year: int
    color: str
    price: Money
    license_plate: str
    is_reserved: bool
    is_sold: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, v: Vehicle) -> VehicleRead:
        return cls.model_validate(_public(v))


class VehicleStaffRead(VehicleRead):
    """What staff see: the identifiers and the sale."""

    chassi_number: str
    renavam: str
    sold_price: Money | None = None
    sold_at: datetime | None = None
    buyer_id: str | None = None
    picked_up_at: datetime | None = None

    @classmethod
    def of(cls, v: Vehicle) -> VehicleStaffRead:
        return cls.model_validate(
            {
                **_public(v),
                "chassi_number": v.chassi_number,
                "renavam": v.renavam,
                "sold_price": v.sold_price,
                "sold_at": v.sold_at,
                "buyer_id": v.buyer_id,
                "picked_up_at": v.picked_up_at,
            }
        )


def _public(v: Vehicle) -> dict[str, object]:
    return {
        "id": v.id,
        "brand": v.brand,
        "model": v.model,
        "year": v.year,
        "color": v.color,
        "price": v.price,
        "license_plate": v.license_plate,
        "is_reserved": v.is_reserved,
        "is_sold": v.is_sold,
        "created_at": v.created_at,
        "updated_at": v.updated_at,
    }


class VehiclePage(BaseModel):
    vehicles: list[VehicleStaffRead] | list[VehicleRead]
    total: int
    next_cursor: str | None


def encode_cursor(position: Position | None) -> str | None:
    if position is None:
        return None
    raw = json.dumps([str(position.price), position.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Position | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        price, vehicle_id = json.loads(raw)
        position = Position(Decimal(price), str(vehicle_id))
        if not is_uuid(position.id) or not position.price.is_finite():
            raise ValueError
        return position
    except (ValueError, TypeError, InvalidOperation):
        raise Unprocessable("INVALID_CURSOR", "the cursor is not one this API returned") from None
