"""Photos through the real Cloud Storage API (a fake-gcs-server emulator): staff get a
signed URL, PUT the file straight to storage, confirm; the service checks the content,
strips the metadata, publishes WebP renditions at public URLs; staff reorder, choose the
cover, delete; abandoned uploads are swept."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from PIL import ExifTags, Image

from app.adapters.images import MAX_BYTES, SIZES
from app.bootstrap import bootstrap
from app.domain.model import MAX_PHOTOS
from app.entrypoints.deps import VeiculoContext
from app.service_layer.photos import ABANDONED_AFTER, sweep_abandoned
from mercado_devtools.testing.helpers import eventually
from mercado_devtools.testing.tokens import TestTokens
from mercado_shared.clock import utcnow
from mercado_shared.runtime import app_context, app_runtime
from tests.conftest import SERVICE_DIR, Client, service_settings


@pytest.fixture
def buckets(storage_emulator: str) -> storage.Client:
    anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
    return storage.Client(project="test", credentials=anonymous, client_options={"api_endpoint": storage_emulator})


def jpeg(size: tuple[int, int] = (2400, 1800), gps: bool = False, seed: int = 0) -> bytes:
    """A photo-like JPEG (noise compresses as a photo does), with the lot's GPS position if asked."""
    image = Image.effect_noise(size, 40 + seed).convert("RGB")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Camera"
    if gps:
        position = exif.get_ifd(ExifTags.IFD.GPSInfo)
        position[ExifTags.GPS.GPSLatitudeRef] = "S"
        position[ExifTags.GPS.GPSLatitude] = (23.0, 33.0, 1.0)
        position[ExifTags.GPS.GPSLongitudeRef] = "W"
        position[ExifTags.GPS.GPSLongitude] = (46.0, 38.0, 2.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n" * 20


def start(client: Client, vehicle_id: str, content_type: str = "image/jpeg") -> httpx.Response:
    body, staff = {"content_type": content_type}, client.tokens.staff()
    response: httpx.Response = client.http.post(f"/vehicles/{vehicle_id}/photos", json=body, headers=staff)
    return response


def upload(client: Client, vehicle_id: str, data: bytes, content_type: str = "image/jpeg") -> httpx.Response:
    """Start, PUT the bytes to the signed URL as a browser would, confirm."""
    ticket = start(client, vehicle_id, content_type)
    assert ticket.status_code == 201, ticket.text
    body = ticket.json()
    put = httpx.put(body["upload_url"], content=data, headers=body["headers"])
    assert put.status_code == 200, put.text
    return confirm(client, vehicle_id, body["photo_id"])


def confirm(client: Client, vehicle_id: str, photo_id: str) -> httpx.Response:
    path = f"/vehicles/{vehicle_id}/photos/{photo_id}/confirm"
    response: httpx.Response = client.http.post(path, headers=client.tokens.staff())
    return response


def code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]["code"]


def test_a_photo_is_checked_stripped_and_served_as_public_cacheable_webp(
    client: Client, buckets: storage.Client
) -> None:
    vehicle = client.create()
    original = jpeg(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it does carry a position
    ticket = start(client, vehicle["id"]).json()
    assert ticket["method"] == "PUT" and "X-Goog-Signature=" in ticket["upload_url"]
    assert ticket["headers"]["x-goog-content-length-range"] == f"1,{MAX_BYTES}"
    assert httpx.put(ticket["upload_url"], content=original, headers=ticket["headers"]).status_code == 200
    confirmed = confirm(client, vehicle["id"], ticket["photo_id"])
    assert confirmed.status_code == 200, confirmed.text
    photo = confirmed.json()
    for size, url in (("listing", photo["listing_url"]), ("gallery", photo["gallery_url"])):
        served = httpx.get(url)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/webp"
        assert "public" in served.headers["cache-control"] and "immutable" in served.headers["cache-control"]
        image = Image.open(io.BytesIO(served.content))
        assert image.format == "WEBP"
        assert image.width <= SIZES[size][0] and image.height <= SIZES[size][1]
        assert "exif" not in image.info and not image.getexif()  # no position, no camera, nothing
    assert (photo["width"], photo["height"]) == (1600, 1200)
    # The upload itself (with its metadata) is gone; only the renditions are kept.
    assert buckets.bucket("mercado-veiculo-uploads").get_blob(f"vehicles/{vehicle['id']}/{photo['id']}") is None
    again = confirm(client, vehicle["id"], photo["id"])
    assert (again.status_code, again.json()) == (200, photo)  # confirming twice is harmless


@pytest.mark.parametrize(
    ("data", "content_type", "refused"),
    [
        (PDF, "image/jpeg", "PHOTO_NOT_AN_IMAGE"),  # a renamed PDF: its name and type lie
        (b"GIF89a" + bytes(200), "image/png", "PHOTO_NOT_AN_IMAGE"),  # an image, not one we take
        (png((8001, 20)), "image/png", "PHOTO_DIMENSIONS_TOO_LARGE"),
        (png((8000, 8000), mode="1"), "image/png", "PHOTO_DECOMPRESSION_BOMB"),  # 256 MB from a few KB
        (os.urandom(MAX_BYTES + 1), "image/jpeg", "PHOTO_TOO_LARGE"),
    ],
    ids=["renamed-pdf", "gif", "too-wide", "bomb", "too-large"],
)
def test_a_bad_file_is_refused_with_its_code_and_removed(
    client: Client, buckets: storage.Client, data: bytes, content_type: str, refused: str
) -> None:
    vehicle = client.create()
    ticket = start(client, vehicle["id"], content_type).json()
    assert httpx.put(ticket["upload_url"], content=data, headers=ticket["headers"]).status_code == 200
    assert code(confirm(client, vehicle["id"], ticket["photo_id"])) == (422, refused)
    assert buckets.bucket("mercado-veiculo-uploads").get_blob(f"vehicles/{vehicle['id']}/{ticket['photo_id']}") is None
    assert code(confirm(client, vehicle["id"], ticket["photo_id"])) == (404, "PHOTO_NOT_FOUND")
    shown = client.http.get(f"/vehicles/{vehicle['id']}").json()
    assert shown["photos"] == [] and shown["cover"] is None


def test_confirming_before_the_upload_is_a_conflict_and_the_photo_waits(client: Client) -> None:
    vehicle = client.create()
    ticket = start(client, vehicle["id"]).json()
    assert code(confirm(client, vehicle["id"], ticket["photo_id"])) == (409, "PHOTO_NOT_UPLOADED")
    assert httpx.put(ticket["upload_url"], content=jpeg((800, 600)), headers=ticket["headers"]).status_code == 200
    assert confirm(client, vehicle["id"], ticket["photo_id"]).status_code == 200


def test_staff_order_the_gallery_choose_the_cover_and_delete(client: Client) -> None:
    vehicle = client.create()
    first, second, third = (upload(client, vehicle["id"], jpeg((900, 600), seed=i)).json()["id"] for i in range(3))

    def gallery() -> list[str]:
        return [p["id"] for p in client.http.get(f"/vehicles/{vehicle['id']}").json()["photos"]]

    def cover() -> str:
        listed = client.http.get("/vehicles").json()["vehicles"]
        return str(next(v for v in listed if v["id"] == vehicle["id"])["cover"]["id"])

    assert gallery() == [first, second, third] and cover() == first
    staff = client.tokens.staff()
    order = client.http.put(
        f"/vehicles/{vehicle['id']}/photos/order", json={"photo_ids": [third, first, second]}, headers=staff
    )
    assert order.status_code == 200 and [p["id"] for p in order.json()["photos"]] == [third, first, second]
    assert gallery() == [third, first, second] and cover() == third
    for wrong in ([third, first], [third, first, second, second], [third, first, vehicle["id"]]):
        refused = client.http.put(f"/vehicles/{vehicle['id']}/photos/order", json={"photo_ids": wrong}, headers=staff)
        assert code(refused) == (422, "PHOTO_ORDER_MISMATCH")
    assert client.http.post(f"/vehicles/{vehicle['id']}/photos/{second}/cover", headers=staff).status_code == 200
    assert gallery() == [second, third, first] and cover() == second
    deleted = client.http.delete(f"/vehicles/{vehicle['id']}/photos/{second}", headers=staff)
    assert deleted.status_code == 204
    assert gallery() == [third, first] and cover() == third
    assert code(client.http.delete(f"/vehicles/{vehicle['id']}/photos/{second}", headers=staff)) == (
        404,
        "PHOTO_NOT_FOUND",
    )


def test_a_sold_vehicles_photos_stay_and_no_longer_change(client: Client) -> None:
    vehicle = client.create()
    photo = upload(client, vehicle["id"], jpeg((900, 600))).json()
    client.sell(vehicle)
    shown = client.http.get(f"/vehicles/{vehicle['id']}").json()
    assert [p["id"] for p in shown["photos"]] == [photo["id"]] and httpx.get(photo["gallery_url"]).status_code == 200
    assert code(start(client, vehicle["id"])) == (409, "VEHICLE_SOLD")
    staff = client.tokens.staff()
    assert code(client.http.delete(f"/vehicles/{vehicle['id']}/photos/{photo['id']}", headers=staff)) == (
        409,
        "VEHICLE_SOLD",
    )


def test_photos_are_staffs_to_change_and_limited_per_vehicle(client: Client) -> None:
    vehicle = client.create()
    anonymous = client.http.post(f"/vehicles/{vehicle['id']}/photos", json={"content_type": "image/jpeg"})
    assert anonymous.status_code == 401
    buyer = client.http.post(
        f"/vehicles/{vehicle['id']}/photos", json={"content_type": "image/jpeg"}, headers=client.tokens.headers()
    )
    assert buyer.status_code == 403
    assert start(client, vehicle["id"], "application/pdf").status_code == 422
    assert code(start(client, "00000000-0000-4000-8000-000000000000")) == (404, "VEHICLE_NOT_FOUND")
    for _ in range(MAX_PHOTOS):
        assert start(client, vehicle["id"]).status_code == 201
    assert code(start(client, vehicle["id"])) == (409, "PHOTO_LIMIT")


def test_uploads_never_confirmed_are_swept_with_their_objects(client: Client, buckets: storage.Client) -> None:
    vehicle = client.create()
    ticket = start(client, vehicle["id"]).json()
    assert httpx.put(ticket["upload_url"], content=jpeg((800, 600)), headers=ticket["headers"]).status_code == 200
    kept = upload(client, vehicle["id"], jpeg((800, 600))).json()
    uploads = buckets.bucket("mercado-veiculo-uploads")
    name = f"vehicles/{vehicle['id']}/{ticket['photo_id']}"
    assert uploads.get_blob(name) is not None
    runtime = app_runtime(client.http.app)
    store = app_context(client.http.app, VeiculoContext).photos
    assert sweep_abandoned(runtime.uow_factory(), store, utcnow()) == 0  # too recent to be abandoned
    assert sweep_abandoned(runtime.uow_factory(), store, utcnow() + ABANDONED_AFTER + timedelta(minutes=1)) == 1
    assert uploads.get_blob(name) is None
    assert code(confirm(client, vehicle["id"], ticket["photo_id"])) == (404, "PHOTO_NOT_FOUND")
    assert [p["id"] for p in client.http.get(f"/vehicles/{vehicle['id']}").json()["photos"]] == [kept["id"]]


def test_each_instance_sweeps_abandoned_uploads_by_itself(
    migrated_database: Callable[[Path], str], emulator_host: str, project_id: str, storage_emulator: str
) -> None:
    """The sweep runs in every instance (PHOTO_SWEEP_INTERVAL_SECONDS), on the service's
    clock: here two hours ahead, so an upload just handed out is already abandoned."""
    tokens = TestTokens()
    settings = service_settings(
        migrated_database(SERVICE_DIR), project_id, storage_emulator, photo_sweep_interval_seconds=0.2
    )
    later = bootstrap(settings, key_source=tokens.key_source(), clock=lambda: utcnow() + timedelta(hours=2))
    with TestClient(later) as http:
        client = Client(http, tokens)
        vehicle = client.create()
        ticket = start(client, vehicle["id"]).json()

        def swept() -> None:
            assert code(confirm(client, vehicle["id"], ticket["photo_id"])) == (404, "PHOTO_NOT_FOUND")

        eventually(swept)
