"""Photos end to end, through the Cloud Storage emulator the stack runs: a staff member
uploads three files from the browser's side (signed URL, PUT straight to storage,
confirm): a PDF renamed to .jpg, a photo with the lot's GPS position, and a PNG. A buyer
searches, sees the cover thumbnail, opens the gallery: no GPS anywhere, and no PDF."""

from __future__ import annotations

import io
import uuid

import httpx
from PIL import ExifTags, Image

from tests.e2e.conftest import Api

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def photo_with_position() -> bytes:
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "S", (23.0, 33.0, 1.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "W", (46.0, 38.0, 2.0)
    out = io.BytesIO()
    Image.effect_noise((2000, 1500), 50).convert("RGB").save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def plain_png() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((1200, 900), 30).convert("RGB").save(out, "PNG")
    return out.getvalue()


def has_position(image: bytes) -> bool:
    return bool(Image.open(io.BytesIO(image)).getexif().get_ifd(ExifTags.IFD.GPSInfo))


def test_staff_upload_photos_and_a_buyer_sees_the_cover_and_a_gallery_without_the_lots_position(api: Api) -> None:
    staff = api.staff()
    word = "lote" + uuid.uuid4().hex[:10]  # a word only this vehicle's description holds
    created = api.client.post(
        api.url("veiculo-service", "/vehicles"),
        json={**api.vehicle_body(52900), "brand": "Fiat", "model": "Pulse", "description": f"Carro do {word}."},
        headers=staff,
    )
    assert created.status_code == 201, created.text
    vehicle = created.json()

    def upload(data: bytes, content_type: str, file_name: str) -> httpx.Response:
        """What the staff console does with a file the user picked."""
        started = api.client.post(
            api.url("veiculo-service", f"/vehicles/{vehicle['id']}/photos"),
            json={"content_type": content_type},  # the browser's guess, from the file's name
            headers=staff,
        )
        assert started.status_code == 201, (file_name, started.text)
        ticket = started.json()
        put = httpx.put(ticket["upload_url"], content=data, headers=ticket["headers"])  # straight to storage
        assert put.status_code == 200, (file_name, put.text)
        return api.client.post(
            api.url("veiculo-service", f"/vehicles/{vehicle['id']}/photos/{ticket['photo_id']}/confirm"),
            headers=staff,
        )

    original = photo_with_position()
    assert has_position(original)
    refused = upload(PDF, "image/jpeg", "frente.jpg")
    assert (refused.status_code, refused.json()["detail"]["code"]) == (422, "PHOTO_NOT_AN_IMAGE")
    front = upload(original, "image/jpeg", "frente-gps.jpg")
    side = upload(plain_png(), "image/png", "lateral.png")
    assert front.status_code == side.status_code == 200, (front.text, side.text)

    # A buyer (not signed in) searches and sees the cover thumbnail on the result.
    found = api.client.get(api.url("veiculo-service", "/vehicles"), params={"q": word, "brand": "fiat"})
    assert found.status_code == 200 and found.json()["total"] == 1
    listed = found.json()["vehicles"][0]
    assert listed["id"] == vehicle["id"] and listed["cover"]["id"] == front.json()["id"]
    thumbnail = httpx.get(listed["cover"]["listing_url"])
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/webp"
    assert "public" in thumbnail.headers["cache-control"]
    assert Image.open(io.BytesIO(thumbnail.content)).size[0] <= 480

    # The vehicle's page: two photos, in the order they were confirmed, none with a position.
    page = api.client.get(api.url("veiculo-service", f"/vehicles/{vehicle['id']}")).json()
    assert [p["id"] for p in page["photos"]] == [front.json()["id"], side.json()["id"]]
    for photo in page["photos"]:
        for url in (photo["listing_url"], photo["gallery_url"]):
            served = httpx.get(url)
            assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
            assert not has_position(served.content) and "exif" not in Image.open(io.BytesIO(served.content)).info
