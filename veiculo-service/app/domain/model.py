"""Vehicles and the reservations purchases hold on them. Pure rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class ReservationStatus(StrEnum):
    RESERVED = "RESERVED"
    SOLD = "SOLD"
    RELEASED = "RELEASED"  # undone, or a tombstone: released before the reservation arrived
    REJECTED = "REJECTED"


class FailureReason(StrEnum):
    VEHICLE_UNAVAILABLE = "VEHICLE_UNAVAILABLE"
    VEHICLE_NOT_FOUND = "VEHICLE_NOT_FOUND"
    PRICE_CHANGED = "PRICE_CHANGED"
    PURCHASE_ABANDONED = "PURCHASE_ABANDONED"
    NOT_RESERVED = "NOT_RESERVED"


FIRST_MODEL_YEAR = 1900


def model_year_allowed(year: int, now: datetime) -> bool:
    """A vehicle is of a year from 1900 to the next one (next year's models are on sale)."""
    return FIRST_MODEL_YEAR <= year <= now.year + 1


class VehicleUnavailable(Exception):
    pass


class VehicleSoldAlready(Exception):
    pass


class PriceLocked(Exception):
    """A reserved vehicle keeps the price its buyer agreed to."""


class NotSold(Exception):
    pass


class PickedUpAlready(Exception):
    pass


class Fuel(StrEnum):
    GASOLINA = "gasolina"
    ETANOL = "etanol"
    FLEX = "flex"
    DIESEL = "diesel"
    ELETRICO = "eletrico"  # elétrico
    HIBRIDO = "hibrido"  # híbrido


class Transmission(StrEnum):
    MANUAL = "manual"
    AUTOMATICO = "automatico"  # automático
    CVT = "cvt"
    AUTOMATIZADO = "automatizado"


class Feature(StrEnum):
    """The options a listing may name (a buyer filters by them; free text would not match)."""

    AR_CONDICIONADO = "ar_condicionado"
    DIRECAO_HIDRAULICA = "direcao_hidraulica"
    DIRECAO_ELETRICA = "direcao_eletrica"
    VIDROS_ELETRICOS = "vidros_eletricos"
    TRAVAS_ELETRICAS = "travas_eletricas"
    AIRBAG = "airbag"
    FREIOS_ABS = "freios_abs"
    CENTRAL_MULTIMIDIA = "central_multimidia"
    CAMERA_DE_RE = "camera_de_re"
    SENSOR_DE_ESTACIONAMENTO = "sensor_de_estacionamento"
    PILOTO_AUTOMATICO = "piloto_automatico"
    BANCOS_DE_COURO = "bancos_de_couro"
    TETO_SOLAR = "teto_solar"
    RODAS_DE_LIGA_LEVE = "rodas_de_liga_leve"
    CHAVE_PRESENCIAL = "chave_presencial"
    TRACAO_4X4 = "tracao_4x4"


MAX_MILEAGE_KM = 2_000_000
DOORS = (2, 3, 4, 5)
VERSION_MAX = 60
DESCRIPTION_MAX = 4000

EDITABLE = (
    "brand",
    "model",
    "year",
    "color",
    "price",
    "license_plate",
    "chassi_number",
    "renavam",
    "mileage_km",
    "fuel",
    "transmission",
    "version",
    "doors",
    "features",
    "description",
)


@dataclass(eq=False)
class Reservation:
    transaction_id: str
    vehicle_id: str
    customer_id: str
    status: ReservationStatus


@dataclass(eq=False)
class Vehicle:
    id: str
    brand: str
    model: str
    year: int
    color: str
    price: Decimal
    license_plate: str
    plate_key: str
    chassi_number: str
    renavam: str
    # What a buyer searches by; unknown (None, no features) for vehicles listed before them.
    mileage_km: int | None = None
    fuel: Fuel | None = None
    transmission: Transmission | None = None
    version: str | None = None  # the trim: "1.0 MPI Trendline"
    doors: int | None = None
    features: list[str] = field(default_factory=list)  # Feature values, sorted, once each
    description: str | None = None
    reserved_by: str | None = None  # the transaction holding it
    sold_transaction_id: str | None = None
    buyer_id: str | None = None
    sold_price: Decimal | None = None
    sold_at: datetime | None = None
    picked_up_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def is_sold(self) -> bool:
        return self.sold_at is not None

    @property
    def is_reserved(self) -> bool:
        return self.reserved_by is not None

    @property
    def is_available(self) -> bool:
        """On sale: neither reserved nor sold (in SQL: adapters.orm.LISTING_MEMBERSHIP)."""
        return not self.is_reserved and not self.is_sold

    def edit(self, changes: dict[str, object], plate_key: str | None) -> None:
        if self.is_sold:
            raise VehicleSoldAlready
        if self.is_reserved and "price" in changes and changes["price"] != self.price:
            raise PriceLocked
        for name in EDITABLE:
            if name in changes:
                setattr(self, name, changes[name])
        if plate_key is not None:
            self.plate_key = plate_key

    def pick_up(self, at: datetime) -> None:
        if not self.is_sold:
            raise NotSold
        if self.picked_up_at is not None:
            raise PickedUpAlready
        self.picked_up_at = at

    def reserve(self, transaction_id: str, customer_id: str) -> Reservation:
        if not self.is_available:
            raise VehicleUnavailable
        self.reserved_by = transaction_id
        return Reservation(transaction_id, self.id, customer_id, ReservationStatus.RESERVED)

    def sell(self, reservation: Reservation, price: Decimal, at: datetime) -> None:
        if reservation.status is ReservationStatus.SOLD:
            return
        if reservation.status is not ReservationStatus.RESERVED or self.reserved_by != reservation.transaction_id:
            raise VehicleUnavailable
        self.reserved_by = None
        self.sold_transaction_id = reservation.transaction_id
        self.buyer_id = reservation.customer_id
        self.sold_price = price
        self.sold_at = at
        reservation.status = ReservationStatus.SOLD

    def release(self, reservation: Reservation) -> None:
        """Undo the reservation, or a sale that the purchase has not completed. Idempotent."""
        if reservation.status is ReservationStatus.RESERVED and self.reserved_by == reservation.transaction_id:
            self.reserved_by = None
        elif reservation.status is ReservationStatus.SOLD and self.sold_transaction_id == reservation.transaction_id:
            self.sold_transaction_id = self.buyer_id = None
            self.sold_price = None
            self.sold_at = None
        reservation.status = ReservationStatus.RELEASED


class PhotoStatus(StrEnum):
    UPLOADING = "UPLOADING"  # a signed upload URL was handed out; nothing checked yet
    READY = "READY"  # checked, its renditions published, in the gallery


MAX_PHOTOS = 30  # per vehicle, uploading or ready


@dataclass
class Photo:
    """A photo of a vehicle. Staff upload it straight to storage (``upload_name``); once
    confirmed and checked, its renditions (``rendition_name``) are public and the upload is
    gone. ``position`` orders the gallery; the first is the cover."""

    id: str
    vehicle_id: str
    content_type: str  # what staff said they would upload; the content decides
    status: PhotoStatus = PhotoStatus.UPLOADING
    position: int | None = None  # set once ready
    width: int | None = None  # of the gallery rendition
    height: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def upload_name(self) -> str:
        return f"vehicles/{self.vehicle_id}/{self.id}"

    def rendition_name(self, size: str) -> str:
        return rendition_name(self.vehicle_id, self.id, size)


def rendition_name(vehicle_id: str, photo_id: str, size: str) -> str:
    """Where a photo's rendition of ``size`` is published."""
    return f"vehicles/{vehicle_id}/{photo_id}/{size}.webp"


def gallery_order(photos: list[Photo], wanted: list[str]) -> list[Photo]:
    """The ready photos in the order ``wanted`` names them: every one, once each."""
    ready = {p.id: p for p in photos if p.status is PhotoStatus.READY}
    if len(wanted) != len(set(wanted)) or set(wanted) != set(ready):
        raise PhotoOrderMismatch
    for position, photo_id in enumerate(wanted):
        ready[photo_id].position = position
    return [ready[i] for i in wanted]


class PhotoOrderMismatch(Exception):
    """An order that does not name each ready photo exactly once."""
