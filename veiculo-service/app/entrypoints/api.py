"""HTTP routes of veiculo-service."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from starlette.concurrency import run_in_threadpool

from app.adapters.repository import Listing, Search, Sort
from app.domain.model import MAX_MILEAGE_KM, Fuel, Transmission
from app.entrypoints.deps import ActingUowDep, ContextDep, UowDep
from app.entrypoints.schemas import (
    ACCEPTED_FORMATS,
    Gallery,
    PhotoOrder,
    PhotoRead,
    PhotoUpload,
    PhotoUploadRequest,
    SearchFacets,
    VehicleCreate,
    VehiclePage,
    VehicleRead,
    VehicleStaffRead,
    VehicleUpdate,
    decode_position,
    encode_position,
    search_words,
)
from app.service_layer import photos as photo_services
from app.service_layer import services
from mercado_shared.auth import OptionalUser, require_staff
from mercado_shared.errors import error_responses
from mercado_shared.pagination import Cursor, Limit
from mercado_shared.platform_auth import internal_caller

vehicles = APIRouter(prefix="/vehicles", tags=["vehicles"])
# Every route on this router is staff's: the rule is stated once, here, not route by route.
staff_only = APIRouter(prefix="/vehicles", tags=["vehicles"], dependencies=[Depends(require_staff)])

_DUPLICATES = (
    (409, "PLATE_ALREADY_REGISTERED"),
    (409, "CHASSIS_ALREADY_REGISTERED"),
    (409, "RENAVAM_ALREADY_REGISTERED"),
)
_STAFF = ((401, "NOT_AUTHENTICATED"), (403, "FORBIDDEN"))


@staff_only.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a vehicle for sale (staff)",
    response_model=VehicleStaffRead,
    responses=error_responses(*_STAFF, (422, "INVALID_YEAR"), *_DUPLICATES),
)
def create_vehicle(body: VehicleCreate, uow: ActingUowDep, context: ContextDep) -> VehicleStaffRead:
    vehicle = services.register_vehicle(uow, services.NewVehicle(**body.model_dump()), context.clock())
    return VehicleStaffRead.of(vehicle)


Name = Annotated[str | None, Query(min_length=1, max_length=80, description="without case or accents")]
YearBound = Annotated[int | None, Query(ge=1900, le=2100)]
PriceBound = Annotated[Decimal | None, Query(ge=0, le=Decimal("999999999999.99"), decimal_places=2)]


@vehicles.get(
    "",
    summary="Search vehicles, a page at a time: filters, an order (price by default), an exact total",
    description=(
        "available = neither reserved nor sold. Each order has its own cursor (next_cursor): pages follow each "
        "other without a vehicle repeated or skipped while others are added; ties go by id. brand and model match "
        "whole names without case or accents (volkswagen finds Volkswagen); a vehicle whose mileage is unknown is "
        "not found by mileage_max and comes last by mileage. A minimum above its maximum is INVALID_RANGE; a cursor "
        "of another order is INVALID_CURSOR."
    ),
    response_model=VehiclePage,
    responses=error_responses(
        (401, "NOT_AUTHENTICATED"), (422, "INVALID_CURSOR"), (422, "INVALID_RANGE"), (422, "INVALID_QUERY")
    ),
)
async def list_vehicles(
    principal: OptionalUser,
    uow: UowDep,
    context: ContextDep,
    status_filter: Listing | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Sort = Sort.PRICE_ASC,
    brand: Name = None,
    model: Name = None,
    year_min: YearBound = None,
    year_max: YearBound = None,
    price_min: PriceBound = None,
    price_max: PriceBound = None,
    mileage_max: Annotated[int | None, Query(ge=0, le=MAX_MILEAGE_KM)] = None,
    fuel: Fuel | None = None,
    transmission: Transmission | None = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="free text over brand, model, version and description, in Portuguese: every word, "
            "or a word it begins (volks finds Volkswagen), without accents or case",
        ),
    ] = None,
    facets: Annotated[bool, Query(description="also count each facet's values (brand, model, year, ...)")] = False,
) -> VehiclePage:
    search = Search(
        listing=status_filter,
        brand=brand,
        model=model,
        year_min=year_min,
        year_max=year_max,
        price_min=price_min,
        price_max=price_max,
        mileage_max=mileage_max,
        fuel=fuel,
        transmission=transmission,
        words=search_words(q) if q is not None else None,
    )
    after = decode_position(cursor, sort)
    # The busiest route is async: its one blocking part, the database's, takes the thread
    # pool; as a sync route it took three hops there (itself, and its response's check).
    found = await run_in_threadpool(services.search_vehicles, uow, search, sort, after, limit, facets)
    read = VehicleStaffRead if principal is not None and principal.is_staff else VehicleRead
    return VehiclePage(
        vehicles=read.listing(found.page, context.photos),
        total=found.total,
        next_cursor=encode_position(found.following),
        facets=SearchFacets.of(found.facets) if found.facets else None,
    )


@vehicles.get(
    "/{vehicle_id}",
    summary="One vehicle (staff also see its identifiers and sale)",
    response_model=VehicleStaffRead | VehicleRead,
    responses=error_responses((401, "NOT_AUTHENTICATED"), (404, "VEHICLE_NOT_FOUND")),
)
def get_vehicle(vehicle_id: str, principal: OptionalUser, uow: UowDep, context: ContextDep) -> VehicleRead:
    vehicle, gallery = services.get_vehicle(uow, vehicle_id)
    photos = [PhotoRead.of(p, context.photos) for p in gallery]
    read = VehicleStaffRead.of if principal is not None and principal.is_staff else VehicleRead.of
    return read(vehicle, photos[0] if photos else None, photos)


_EDIT_ERRORS = error_responses(
    *_STAFF,
    (404, "VEHICLE_NOT_FOUND"),
    (409, "VEHICLE_SOLD"),
    (409, "VEHICLE_RESERVED"),
    (422, "INVALID_YEAR"),
    *_DUPLICATES,
)


@staff_only.patch(
    "/{vehicle_id}",
    summary="Edit a vehicle (staff): any field; not once sold, nor its price while reserved",
    response_model=VehicleStaffRead,
    responses=_EDIT_ERRORS,
)
def edit_vehicle(vehicle_id: str, body: VehicleUpdate, uow: ActingUowDep, context: ContextDep) -> VehicleStaffRead:
    changes = body.model_dump(exclude_unset=True)
    return VehicleStaffRead.of(services.edit_vehicle(uow, vehicle_id, changes, context.clock()))


@staff_only.put(
    "/{vehicle_id}",
    summary="Edit a vehicle (staff); the same as PATCH, kept for existing clients",
    response_model=VehicleStaffRead,
    responses=_EDIT_ERRORS,
)
def replace_vehicle(vehicle_id: str, body: VehicleUpdate, uow: ActingUowDep, context: ContextDep) -> VehicleStaffRead:
    return edit_vehicle(vehicle_id, body, uow, context)


@staff_only.post(
    "/{vehicle_id}/pickup",
    summary="Record that the buyer took the vehicle (staff)",
    response_model=VehicleStaffRead,
    responses=error_responses(
        *_STAFF, (404, "VEHICLE_NOT_FOUND"), (409, "VEHICLE_NOT_SOLD"), (409, "VEHICLE_ALREADY_PICKED_UP")
    ),
)
def pick_up(vehicle_id: str, uow: ActingUowDep, context: ContextDep) -> VehicleStaffRead:
    return VehicleStaffRead.of(services.pick_up(uow, vehicle_id, context.clock()))


_PHOTO = (*_STAFF, (404, "VEHICLE_NOT_FOUND"), (404, "PHOTO_NOT_FOUND"), (409, "VEHICLE_SOLD"))


@staff_only.post(
    "/{vehicle_id}/photos",
    status_code=status.HTTP_201_CREATED,
    summary="Start a photo upload (staff): a signed URL to PUT the file to, straight to storage",
    description="The URL lasts 15 minutes; an upload not confirmed within an hour is removed. "
    "A vehicle has at most 30 photos (PHOTO_LIMIT).",
    response_model=PhotoUpload,
    responses=error_responses(*_STAFF, (404, "VEHICLE_NOT_FOUND"), (409, "VEHICLE_SOLD"), (409, "PHOTO_LIMIT")),
)
def start_photo_upload(
    vehicle_id: str, body: PhotoUploadRequest, uow: ActingUowDep, context: ContextDep
) -> PhotoUpload:
    ticket = photo_services.request_upload(uow, context.photos, vehicle_id, body.content_type, context.clock())
    return PhotoUpload(
        photo_id=ticket.photo.id, upload_url=ticket.url, headers=ticket.headers, expires_at=ticket.expires_at
    )


@staff_only.post(
    "/{vehicle_id}/photos/{photo_id}/confirm",
    summary="Confirm an upload (staff): the file is checked by its content and joins the gallery",
    description=f"{ACCEPTED_FORMATS} only, at most 10 MB and 8,000 pixels a side; a decompression bomb is refused. "
    "Its metadata (EXIF, with a GPS position) is not kept: the site shows WebP renditions. A refused file is "
    "removed with its photo; confirming a confirmed photo returns it.",
    response_model=PhotoRead,
    responses=error_responses(
        *_PHOTO,
        (409, "PHOTO_NOT_UPLOADED"),
        (422, "PHOTO_NOT_AN_IMAGE"),
        (422, "PHOTO_TOO_LARGE"),
        (422, "PHOTO_DIMENSIONS_TOO_LARGE"),
        (422, "PHOTO_DECOMPRESSION_BOMB"),
    ),
)
def confirm_photo(vehicle_id: str, photo_id: str, uow: ActingUowDep, context: ContextDep) -> PhotoRead:
    return PhotoRead.of(photo_services.confirm_upload(uow, context.photos, vehicle_id, photo_id), context.photos)


@staff_only.put(
    "/{vehicle_id}/photos/order",
    summary="Reorder the gallery (staff): every photo once; the first is the cover",
    response_model=Gallery,
    responses=error_responses(*_PHOTO, (422, "PHOTO_ORDER_MISMATCH")),
)
def reorder_photos(vehicle_id: str, body: PhotoOrder, uow: ActingUowDep, context: ContextDep) -> Gallery:
    return Gallery.of(photo_services.reorder(uow, vehicle_id, body.photo_ids), context.photos)


@staff_only.post(
    "/{vehicle_id}/photos/{photo_id}/cover",
    summary="Make a photo the cover (staff): it goes first, the others keep their order",
    response_model=Gallery,
    responses=error_responses(*_PHOTO, (409, "PHOTO_NOT_READY")),
)
def choose_cover(vehicle_id: str, photo_id: str, uow: ActingUowDep, context: ContextDep) -> Gallery:
    return Gallery.of(photo_services.choose_cover(uow, vehicle_id, photo_id), context.photos)


@staff_only.delete(
    "/{vehicle_id}/photos/{photo_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a photo (staff); the others close up",
    responses=error_responses(*_PHOTO),
)
def delete_photo(vehicle_id: str, photo_id: str, uow: ActingUowDep, context: ContextDep) -> None:
    photo_services.delete_photo(uow, context.photos, vehicle_id, photo_id)


internal = APIRouter(include_in_schema=False, dependencies=[Depends(internal_caller)])


@internal.get("/internal/customers/{customer_id}/vehicles")
def bought_by(customer_id: str, uow: UowDep) -> dict[str, list[dict[str, object]]]:
    """For cliente-service's LGPD export (as cliente-service): the vehicles the customer bought."""
    return {"vehicles": [VehicleStaffRead.of(v).model_dump(mode="json") for v in services.bought_by(uow, customer_id)]}
