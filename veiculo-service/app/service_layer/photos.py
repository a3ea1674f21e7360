"""A vehicle's photos: staff ask for an upload URL, upload straight to storage, confirm;
the service checks the file by its content and publishes its renditions; staff reorder,
choose the cover, delete. Uploads never confirmed are swept away.

Storage calls never happen inside a transaction: a slow bucket never holds a row lock.
Objects are removed after the commit that forgets them (a crash leaves an orphan object,
never a photo whose image is gone)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.adapters.images import SIZES as RENDITIONS
from app.adapters.images import PhotoRejected, Rendered, check_size, render
from app.adapters.photo_store import PhotoStore
from app.domain.model import MAX_PHOTOS, Photo, PhotoOrderMismatch, PhotoStatus, Vehicle, gallery_order
from app.service_layer.services import vehicle_not_found
from app.service_layer.unit_of_work import VeiculoUnitOfWork
from mercado_shared.errors import Conflict, NotFound, Unprocessable

log = logging.getLogger(__name__)

UPLOAD_EXPIRES = timedelta(minutes=15)  # the signed URL's life
ABANDONED_AFTER = timedelta(hours=1)  # an upload not confirmed by then is removed
SWEEP_BATCH = 100


@dataclass(frozen=True)
class UploadTicket:
    photo: Photo
    url: str
    headers: dict[str, str]  # the PUT must carry them: they are signed
    expires_at: datetime


def _vehicle(uow: VeiculoUnitOfWork, vehicle_id: str) -> Vehicle:
    """The vehicle, locked (its gallery changes one change at a time); a sold vehicle's
    photos stay as they were when it sold."""
    vehicle = uow.vehicles.get_for_update(vehicle_id)
    if vehicle is None:
        raise vehicle_not_found()
    if vehicle.is_sold:
        raise Conflict("VEHICLE_SOLD", "a sold vehicle's photos stay as they are")
    return vehicle


def _photo(uow: VeiculoUnitOfWork, vehicle_id: str, photo_id: str) -> Photo:
    photo = uow.photos.get(vehicle_id, photo_id)
    if photo is None:
        raise NotFound("PHOTO_NOT_FOUND", "no such photo of this vehicle")
    return photo


def _place(uow: VeiculoUnitOfWork, ordered: list[Photo]) -> None:
    """Positions 0..n-1 in this order. Through negative ones first: one photo per place is
    a unique index, checked row by row."""
    for i, photo in enumerate(ordered):
        photo.position = -1 - i
    uow.session.flush()
    for i, photo in enumerate(ordered):
        photo.position = i


def request_upload(
    uow: VeiculoUnitOfWork, store: PhotoStore, vehicle_id: str, content_type: str, now: datetime
) -> UploadTicket:
    with uow:
        _vehicle(uow, vehicle_id)
        if len(uow.photos.of_vehicle(vehicle_id)) >= MAX_PHOTOS:
            raise Conflict("PHOTO_LIMIT", f"a vehicle has at most {MAX_PHOTOS} photos")
        photo = Photo(id=str(uuid.uuid4()), vehicle_id=vehicle_id, content_type=content_type)
        uow.photos.add(photo)
        uow.audit("vehicle.photo_requested", vehicle_id, photo=photo.id)
        uow.commit()
    url, headers = store.upload_url(photo.upload_name, content_type, UPLOAD_EXPIRES)
    return UploadTicket(photo, url, headers, now + UPLOAD_EXPIRES)


def confirm_upload(uow: VeiculoUnitOfWork, store: PhotoStore, vehicle_id: str, photo_id: str) -> Photo:
    """Check the uploaded file by its content and publish its renditions; a bad file is
    refused (422, its code) and removed with its photo. Confirming twice is harmless."""
    with uow:
        photo = _photo(uow, vehicle_id, photo_id)
    if photo.status is PhotoStatus.READY:
        return photo
    size = store.uploaded_size(photo.upload_name)
    if size is None:
        raise Conflict("PHOTO_NOT_UPLOADED", "nothing was uploaded to this photo's URL yet")
    try:
        check_size(size)
        rendered = render(store.read_upload(photo.upload_name))
    except PhotoRejected as rejected:
        _reject(uow, store, photo, rejected)
        raise Unprocessable(rejected.code, rejected.message) from None
    for name, data in rendered.renditions.items():
        store.publish(photo.rendition_name(name), data, "image/webp")
    placed = _place_ready(uow, photo, rendered)
    if placed is None:  # deleted, or its vehicle sold... while it was being checked
        for name in RENDITIONS:
            store.unpublish(photo.rendition_name(name))
        raise NotFound("PHOTO_NOT_FOUND", "the photo was removed while it was being checked")
    store.delete_upload(photo.upload_name)
    return placed


def _place_ready(uow: VeiculoUnitOfWork, checked: Photo, rendered: Rendered) -> Photo | None:
    with uow:
        vehicle = uow.vehicles.get_for_update(checked.vehicle_id)
        photo = uow.photos.get(checked.vehicle_id, checked.id)
        if vehicle is None or photo is None:
            return None
        if photo.status is PhotoStatus.READY:
            return photo  # another confirmation got here first
        position = len(uow.photos.gallery(vehicle.id))
        photo.status, photo.position = PhotoStatus.READY, position
        photo.width, photo.height = rendered.width, rendered.height
        uow.audit("vehicle.photo_added", vehicle.id, photo=photo.id, content=rendered.content_type)
        uow.commit()
    return photo


def _reject(uow: VeiculoUnitOfWork, store: PhotoStore, photo: Photo, rejected: PhotoRejected) -> None:
    with uow:
        found = uow.photos.get(photo.vehicle_id, photo.id)
        if found is not None and found.status is PhotoStatus.UPLOADING:
            uow.photos.delete(found)
            uow.audit("vehicle.photo_refused", photo.vehicle_id, photo=photo.id, code=rejected.code)
            uow.commit()
    store.delete_upload(photo.upload_name)


def reorder(uow: VeiculoUnitOfWork, vehicle_id: str, photo_ids: list[str]) -> list[Photo]:
    with uow:
        _vehicle(uow, vehicle_id)
        try:
            ordered = gallery_order(uow.photos.gallery(vehicle_id), photo_ids)
        except PhotoOrderMismatch:
            raise Unprocessable("PHOTO_ORDER_MISMATCH", "name each ready photo of the vehicle exactly once") from None
        _place(uow, ordered)
        uow.audit("vehicle.photos_reordered", vehicle_id, photos=photo_ids)
        uow.commit()
    return ordered


def choose_cover(uow: VeiculoUnitOfWork, vehicle_id: str, photo_id: str) -> list[Photo]:
    with uow:
        _vehicle(uow, vehicle_id)
        photo = _photo(uow, vehicle_id, photo_id)
        if photo.status is not PhotoStatus.READY:
            raise Conflict("PHOTO_NOT_READY", "only a confirmed photo can be the cover")
        gallery = uow.photos.gallery(vehicle_id)
        ordered = [photo, *(p for p in gallery if p.id != photo.id)]
        _place(uow, ordered)
        uow.audit("vehicle.cover_chosen", vehicle_id, photo=photo_id)
        uow.commit()
    return ordered


def delete_photo(uow: VeiculoUnitOfWork, store: PhotoStore, vehicle_id: str, photo_id: str) -> None:
    with uow:
        _vehicle(uow, vehicle_id)
        photo = _photo(uow, vehicle_id, photo_id)
        uow.photos.delete(photo)
        uow.session.flush()
        _place(uow, uow.photos.gallery(vehicle_id))
        uow.audit("vehicle.photo_deleted", vehicle_id, photo=photo_id)
        uow.commit()
    _remove_objects(store, photo)


def sweep_abandoned(uow: VeiculoUnitOfWork, store: PhotoStore, now: datetime) -> int:
    """Removes uploads handed out more than ABANDONED_AFTER ago and never confirmed: their
    rows, then their objects (the bucket's lifecycle rule removes any left behind)."""
    with uow:
        abandoned = uow.photos.abandoned(now - ABANDONED_AFTER, SWEEP_BATCH)
        for photo in abandoned:
            uow.photos.delete(photo)
        uow.commit()
    for photo in abandoned:
        _remove_objects(store, photo)
    if abandoned:
        log.info("abandoned uploads removed", extra={"photos": len(abandoned)})
    return len(abandoned)


def _remove_objects(store: PhotoStore, photo: Photo) -> None:
    store.delete_upload(photo.upload_name)
    for name in RENDITIONS:
        store.unpublish(photo.rendition_name(name))
