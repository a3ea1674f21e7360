"""Request and response bodies of veiculo-service."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, TypeAdapter
from pydantic.config import JsonDict

from app.adapters.images import FORMATS, SIZES
from app.adapters.photo_store import PhotoStore
from app.adapters.repository import ORDERS, Facets, Listed, Position, Sort
from app.domain.identifiers import InvalidIdentifier, normalize_chassis, normalize_plate, normalize_renavam
from app.domain.model import (
    DESCRIPTION_MAX,
    MAX_MILEAGE_KM,
    MAX_PHOTOS,
    VERSION_MAX,
    Feature,
    Fuel,
    Photo,
    Transmission,
    Vehicle,
    rendition_name,
)
from mercado_shared.errors import Unprocessable
from mercado_shared.ids import is_uuid
from mercado_shared.money import Money
from mercado_shared.pagination import decode_cursor, encode_cursor
from mercado_shared.text import nfkc
from mercado_shared.updates import PartialUpdate


def _checked(normalize: object) -> AfterValidator:
    def check(value: str) -> str:
        try:
            return normalize(value)  # type: ignore[operator, no-any-return]
        except InvalidIdentifier as exc:
            raise ValueError(str(exc)) from None

    return AfterValidator(check)


# Full-width forms are put in NFKC first; any other script's digit or letter is refused.
Plate = Annotated[
    str,
    BeforeValidator(nfkc),
    Field(pattern=r"^[A-Za-z]{3}-?[0-9][A-Za-z0-9][0-9]{2}$", description="ABC1234 (old) or ABC1D23 (Mercosul)"),
    _checked(normalize_plate),
]
Chassis = Annotated[
    str,
    BeforeValidator(nfkc),
    Field(pattern=r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$", description="17 characters, no I, O or Q"),
    _checked(normalize_chassis),
]
Renavam = Annotated[
    str,
    BeforeValidator(nfkc),
    Field(pattern=r"^[0-9]{9,11}$", description="11 digits with a check digit"),
    _checked(normalize_renavam),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
PositivePrice = Annotated[Money, Field(gt=0)]


def _seen_text(keep: str = "") -> AfterValidator:
    """Text in NFC form, with no control character but those in ``keep``."""

    def check(value: str) -> str:
        if any(unicodedata.category(c) == "Cc" and c not in keep for c in value):
            raise ValueError("control characters are not allowed")
        return unicodedata.normalize("NFC", value)

    return AfterValidator(check)


def _known_once(values: list[Feature]) -> list[Feature]:
    return sorted(set(values))  # each option once, in one order: what a search and a facet count


VersionText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=VERSION_MAX),
    _seen_text(),
    Field(description="the trim, as the maker names it", examples=["1.0 MPI Trendline"]),
]
DescriptionText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=DESCRIPTION_MAX),
    _seen_text(keep="\n"),  # paragraphs, nothing else unseen
    Field(description="what the seller says of the car; line breaks kept, no other control characters"),
]
Mileage = Annotated[int, Field(ge=0, le=MAX_MILEAGE_KM, description="odometer reading, in km")]
Doors = Annotated[Literal[2, 3, 4, 5], Field(description="number of doors")]
Features = Annotated[
    list[Feature],
    Field(max_length=len(Feature) * 2, description="known options; each kept once, in alphabetical order"),
    AfterValidator(_known_once),
]
FUEL_DESCRIPTION = "gasolina, etanol, flex, diesel, eletrico (elétrico), hibrido (híbrido)"
TRANSMISSION_DESCRIPTION = "manual, automatico (automático), cvt, automatizado"


# The range the database holds; "at most next year" is the domain's, on the service's clock
# (model_year_allowed: INVALID_YEAR).
Year = Annotated[int, Field(ge=1900, le=2100)]


_DETAILS_EXAMPLE: JsonDict = {
    "mileage_km": 62000,
    "fuel": "flex",
    "transmission": "manual",
    "version": "1.0 MPI Trendline",
    "doors": 4,
    "features": ["ar_condicionado", "direcao_hidraulica", "vidros_eletricos"],
    "description": "Único dono, revisões na concessionária.\nPneus novos.",
}


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
                    **_DETAILS_EXAMPLE,
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
    mileage_km: Mileage | None = None
    fuel: Fuel | None = Field(None, description=FUEL_DESCRIPTION)
    transmission: Transmission | None = Field(None, description=TRANSMISSION_DESCRIPTION)
    version: VersionText | None = None
    doors: Doors | None = None
    features: Features = Field(default_factory=list)
    description: DescriptionText | None = None


class VehicleUpdate(PartialUpdate):
    """Any field of the vehicle; what is not sent stays as it is. The details a vehicle may
    lack (mileage, fuel, transmission, version, doors, description) are cleared with null."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"price": 43900.0, "color": "Preto", "features": ["ar_condicionado"]}]},
    )
    CLEARABLE: ClassVar[frozenset[str]] = frozenset(
        {"mileage_km", "fuel", "transmission", "version", "doors", "description"}
    )

    brand: Text | None = None
    model: Text | None = None
    year: Year | None = None
    color: Text | None = None
    price: PositivePrice | None = None
    license_plate: Plate | None = None
    chassi_number: Chassis | None = None
    renavam: Renavam | None = None
    mileage_km: Mileage | None = None
    fuel: Fuel | None = Field(None, description=FUEL_DESCRIPTION)
    transmission: Transmission | None = Field(None, description=TRANSMISSION_DESCRIPTION)
    version: VersionText | None = None
    doors: Doors | None = None
    features: Features | None = None
    description: DescriptionText | None = None


_VEHICLE_READ_EXAMPLE: JsonDict = {
    "id": "7ad1761a-de74-48f9-9506-3200836bb801",
    "brand": "Volkswagen",
    "model": "Gol",
    "year": 2019,
    "color": "Prata",
    "price": 45900.0,
    "license_plate": "ABC1D23",
    **_DETAILS_EXAMPLE,
    "is_reserved": False,
    "is_sold": False,
    "created_at": "2026-11-24T12:00:00Z",
    "updated_at": "2026-11-24T12:00:00Z",
}


_PHOTO_ID = "5a0c2f0e-8d4c-4e57-9f7d-2a9d8c1b6e01"
_PHOTOS_AT = "https://storage.googleapis.com/mercado-veiculo-photos/vehicles/3f2b9c1e-0d7a-4a51-8f0e-6c2d1b9a7e44"
_PHOTO_EXAMPLE: JsonDict = {
    "id": _PHOTO_ID,
    "listing_url": f"{_PHOTOS_AT}/{_PHOTO_ID}/listing.webp",
    "gallery_url": f"{_PHOTOS_AT}/{_PHOTO_ID}/gallery.webp",
    "width": 1600,
    "height": 1200,
}


class PhotoRead(BaseModel):
    """A photo as the site shows it: WebP renditions at public, cacheable URLs (a photo's
    URLs never change and never serve anything else)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PHOTO_EXAMPLE]})

    id: str
    listing_url: str = Field(description=f"fits {SIZES['listing'][0]}x{SIZES['listing'][1]}: a search result's card")
    gallery_url: str = Field(description=f"fits {SIZES['gallery'][0]}x{SIZES['gallery'][1]}: the vehicle's page")
    width: int = Field(description="of the gallery rendition, in pixels")
    height: int

    @classmethod
    def of(cls, photo: Photo, store: PhotoStore) -> PhotoRead:
        assert photo.width is not None and photo.height is not None, "a ready photo"
        return cls.at(photo.vehicle_id, photo.id, photo.width, photo.height, store)

    @classmethod
    def cover_of(cls, listed: Listed, store: PhotoStore) -> PhotoRead | None:
        """A listed vehicle's cover (repository.LISTED), if it has photos."""
        if listed["cover_id"] is None:
            return None
        return cls.at(listed["id"], listed["cover_id"], listed["cover_width"], listed["cover_height"], store)

    @classmethod
    def at(cls, vehicle_id: str, photo_id: str, width: int, height: int, store: PhotoStore) -> PhotoRead:
        return cls(
            id=photo_id,
            listing_url=store.public_url(rendition_name(vehicle_id, photo_id, "listing")),
            gallery_url=store.public_url(rendition_name(vehicle_id, photo_id, "gallery")),
            width=width,
            height=height,
        )


class PhotoUploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"content_type": "image/jpeg"}]})

    content_type: Literal["image/jpeg", "image/png", "image/webp"] = Field(
        description="the type the upload will declare; the file's content is what is checked"
    )


class PhotoUpload(BaseModel):
    """Where staff's browser PUTs the file: straight to storage, with these headers (they
    are signed: another content type or a larger file is refused by storage itself). Then
    confirm it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "photo_id": _PHOTO_ID,
                    "upload_url": "https://storage.googleapis.com/mercado-veiculo-uploads/vehicles/3f2b9c1e-0d7a-4a51"
                    "-8f0e-6c2d1b9a7e44/5a0c2f0e-8d4c-4e57-9f7d-2a9d8c1b6e01?X-Goog-Algorithm=GOOG4-RSA-SHA256&...",
                    "method": "PUT",
                    "headers": {"Content-Type": "image/jpeg", "x-goog-content-length-range": "1,10485760"},
                    "expires_at": "2026-12-01T12:15:00Z",
                }
            ]
        }
    )

    photo_id: str
    upload_url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_at: datetime


class PhotoOrder(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"photo_ids": [_PHOTO_ID, "9e1d4b7a-2c3f-4d5e-8a6b-7c8d9e0f1a2b"]}]},
    )

    photo_ids: list[str] = Field(
        max_length=MAX_PHOTOS, description="every ready photo, once each; the first is the cover"
    )


class Gallery(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"photos": [_PHOTO_EXAMPLE]}]})

    photos: list[PhotoRead]

    @classmethod
    def of(cls, ordered: list[Photo], store: PhotoStore) -> Gallery:
        return cls(photos=[PhotoRead.of(p, store) for p in ordered])


ACCEPTED_FORMATS = ", ".join(FORMATS)


class VehicleRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_VEHICLE_READ_EXAMPLE]})

    id: str
    brand: str
    model: str
    year: int
    color: str
    price: Money
    license_plate: str
    mileage_km: int | None
    fuel: Fuel | None
    transmission: Transmission | None
    version: str | None
    doors: int | None
    features: list[Feature]
    description: str | None
    is_reserved: bool
    is_sold: bool
    created_at: datetime
    updated_at: datetime
    cover: PhotoRead | None = Field(None, description="the first photo; null without photos")
    photos: list[PhotoRead] | None = Field(None, description="the gallery, in order (GET /vehicles/{id} only)")

    @classmethod
    def of(cls, v: Vehicle, cover: PhotoRead | None = None, photos: list[PhotoRead] | None = None) -> VehicleRead:
        return cls.model_validate({**_public(v), "cover": cover, "photos": photos})

    @classmethod
    def listing(cls, page: list[Listed], store: PhotoStore) -> list[Self]:
        """A search's page, from its rows (repository.LISTED: a column for each field),
        validated as one list."""
        rows = [{**listed, "cover": PhotoRead.cover_of(listed, store)} for listed in page]
        listing: list[Self] = _LISTINGS[cls].validate_python(rows)
        return listing


class VehicleStaffRead(VehicleRead):
    """What staff see: the identifiers and the sale."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_VEHICLE_READ_EXAMPLE,
                    "chassi_number": "9BWZZZ377VT004251",
                    "renavam": "12345678900",
                    "sold_price": None,
                    "sold_at": None,
                    "buyer_id": None,
                    "picked_up_at": None,
                }
            ]
        }
    )

    chassi_number: str
    renavam: str
    sold_price: Money | None = None
    sold_at: datetime | None = None
    buyer_id: str | None = None
    picked_up_at: datetime | None = None

    @classmethod
    def of(cls, v: Vehicle, cover: PhotoRead | None = None, photos: list[PhotoRead] | None = None) -> VehicleStaffRead:
        return cls.model_validate(
            {
                **_public(v),
                "cover": cover,
                "photos": photos,
                "chassi_number": v.chassi_number,
                "renavam": v.renavam,
                "sold_price": v.sold_price,
                "sold_at": v.sold_at,
                "buyer_id": v.buyer_id,
                "picked_up_at": v.picked_up_at,
            }
        )


# What VehicleRead.listing validates a page with, per kind of reader.
_LISTINGS: dict[type[VehicleRead], TypeAdapter[list[Any]]] = {
    VehicleRead: TypeAdapter(list[VehicleRead]),
    VehicleStaffRead: TypeAdapter(list[VehicleStaffRead]),
}


def _public(v: Vehicle) -> dict[str, object]:
    return {
        "id": v.id,
        "brand": v.brand,
        "model": v.model,
        "year": v.year,
        "color": v.color,
        "price": v.price,
        "license_plate": v.license_plate,
        "mileage_km": v.mileage_km,
        "fuel": v.fuel,
        "transmission": v.transmission,
        "version": v.version,
        "doors": v.doors,
        "features": v.features,
        "description": v.description,
        "is_reserved": v.is_reserved,
        "is_sold": v.is_sold,
        "created_at": v.created_at,
        "updated_at": v.updated_at,
    }


class FacetCount(BaseModel):
    value: str | int
    count: int


class PriceBandCount(BaseModel):
    min: int
    max: int | None = Field(description="the next band's minimum; null: no upper bound")
    count: int


class SearchFacets(BaseModel):
    """How many vehicles each value would find under the search's other filters: a facet
    ignores its own filter (brand counts every brand), as shops show them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "brand": [{"value": "Volkswagen", "count": 12}, {"value": "Fiat", "count": 9}],
                    "model": [{"value": "Gol", "count": 7}, {"value": "Polo", "count": 5}],
                    "year": [{"value": 2022, "count": 4}, {"value": 2019, "count": 8}],
                    "fuel": [{"value": "flex", "count": 18}],
                    "transmission": [{"value": "manual", "count": 14}],
                    "price": [{"min": 40000, "max": 60000, "count": 11}, {"min": 200000, "max": None, "count": 1}],
                }
            ]
        }
    )

    brand: list[FacetCount]
    model: list[FacetCount] = Field(description="within the chosen brand; empty without one")
    year: list[FacetCount]
    fuel: list[FacetCount]
    transmission: list[FacetCount]
    price: list[PriceBandCount]

    @classmethod
    def of(cls, facets: Facets) -> SearchFacets:
        def listed(pairs: list[tuple[Any, int]]) -> list[FacetCount]:
            return [FacetCount(value=value, count=count) for value, count in pairs]

        return cls(
            brand=listed(facets.brand),
            model=listed(facets.model),
            year=listed(facets.year),
            fuel=listed(facets.fuel),
            transmission=listed(facets.transmission),
            price=[PriceBandCount(min=low, max=high, count=count) for low, high, count in facets.price],
        )


class VehiclePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"vehicles": [_VEHICLE_READ_EXAMPLE], "total": 1, "next_cursor": None}]}
    )

    vehicles: list[VehicleStaffRead] | list[VehicleRead]
    total: int
    next_cursor: str | None
    facets: SearchFacets | None = Field(None, description="with facets=true")


def encode_position(position: Position | None) -> str | None:
    if position is None:
        return None
    value = position.value.isoformat() if isinstance(position.value, datetime) else str(position.value)
    return encode_cursor(position.sort.value, value, position.id)


_INT4 = 2**31 - 1


def _fits(value: object) -> bool:
    """A value its column could hold: anything else PostgreSQL would refuse (a 500)."""
    if isinstance(value, Decimal):
        return value.is_finite() and abs(value) < Decimal("1e12")  # NUMERIC(14, 2)
    if isinstance(value, datetime):
        return value.tzinfo is not None
    return isinstance(value, int) and -_INT4 <= value <= _INT4


def decode_position(cursor: str | None, sort: Sort) -> Position | None:
    """The position a cursor of ``sort`` holds; a cursor of another sort is refused. A cursor
    from before sorts (price and id) is the default order's."""
    if cursor is None:
        return None
    refused = Unprocessable("INVALID_CURSOR", "the cursor is not one this API returned for this sort")
    try:
        cursor_sort, value, vehicle_id = decode_cursor(cursor, 3)
    except Unprocessable:
        value, vehicle_id = decode_cursor(cursor, 2)
        cursor_sort = Sort.PRICE_ASC.value
    if cursor_sort != sort.value:
        raise refused
    try:
        parsed = ORDERS[sort].parse(value)
    except (InvalidOperation, ValueError):
        raise refused from None
    if not _fits(parsed) or not is_uuid(vehicle_id):
        raise refused
    return Position(sort, parsed, vehicle_id)


MAX_WORDS, MAX_WORD = 8, 40


def search_words(text: str) -> tuple[str, ...]:
    """The words of a buyer's free text (letters and digits of any script; what else they
    typed separates them): at most MAX_WORDS, each at most MAX_WORD characters."""
    words = tuple(word[:MAX_WORD] for word in re.findall(r"[^\W_]+", unicodedata.normalize("NFC", text)))
    if not words:
        raise Unprocessable("INVALID_QUERY", "the text has no word to search for")
    return words[:MAX_WORDS]
