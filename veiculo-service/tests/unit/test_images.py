"""The checks and renditions of a photo, on bytes alone."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from app.adapters.images import SIZES, PhotoRejected, render


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def test_a_photo_taken_sideways_is_turned_upright_and_each_rendition_fits_its_box() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored landscape, to be shown turned 90° clockwise
    photo = Image.effect_noise((3200, 2400), 40).convert("RGB")
    rendered = render(encoded(photo, "JPEG", quality=85, exif=exif))
    assert (rendered.width, rendered.height) == (900, 1200)  # portrait, its long side in the box
    for size, (width, height) in SIZES.items():
        rendition = Image.open(io.BytesIO(rendered.renditions[size]))
        assert rendition.format == "WEBP" and rendition.width <= width and rendition.height <= height
        assert rendition.height > rendition.width and not rendition.getexif()


@pytest.mark.parametrize("kind", ["PNG", "WEBP", "JPEG"])
def test_the_content_says_what_a_file_is(kind: str) -> None:
    photo = Image.effect_noise((800, 600), 40).convert("RGB")
    assert render(encoded(photo, kind)).content_type == f"image/{kind.lower()}"


def test_a_transparent_png_keeps_its_transparency_and_a_cmyk_jpeg_becomes_rgb() -> None:
    noise = Image.effect_noise((800, 600), 40)
    clear = Image.merge("RGBA", (noise, noise, noise, noise))
    assert Image.open(io.BytesIO(render(encoded(clear, "PNG")).renditions["gallery"])).mode == "RGBA"
    cmyk = Image.merge("CMYK", (noise, noise, noise, noise))
    assert Image.open(io.BytesIO(render(encoded(cmyk, "JPEG")).renditions["gallery"])).mode == "RGB"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "PHOTO_NOT_AN_IMAGE"),
        (b"\xff\xd8\xff\xe0" + bytes(500), "PHOTO_NOT_AN_IMAGE"),  # a JPEG's first bytes, nothing after
        (encoded(Image.new("RGB", (10, 8001)), "PNG"), "PHOTO_DIMENSIONS_TOO_LARGE"),
        (encoded(Image.new("RGB", (4000, 4000)), "PNG"), "PHOTO_DECOMPRESSION_BOMB"),  # 64 MB from ~50 kB
    ],
    ids=["empty", "truncated-jpeg", "too-tall", "bomb"],
)
def test_what_is_not_a_photo_we_take_is_refused_with_its_code(data: bytes, code: str) -> None:
    with pytest.raises(PhotoRejected) as refused:
        render(data)
    assert refused.value.code == code
