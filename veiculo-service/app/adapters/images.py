"""What a confirmed upload must be, checked by its content (never its name or the type the
uploader claimed), and the renditions the site shows. Pillow reads the file; nothing of the
original is published: its pixels are re-encoded as WebP without its metadata (EXIF, with
the lot's GPS position; XMP; ICC profiles are converted to sRGB first).

Limits: JPEG, PNG or WebP; at most 10 MB; at most 8,000 pixels a side, read from the header
before anything is decoded; and no decompression bomb, a file whose pixels would take far
more memory than its bytes suggest (more than MAX_EXPANSION times).
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 8000
MAX_EXPANSION = 250  # decoded RGBA bytes per stored byte; photos compress 5-50 times
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Rendition: the largest box it fits in. "listing": a search result's card; "gallery": the
# vehicle's page.
SIZES = {"listing": (480, 360), "gallery": (1600, 1200)}
WEBP_QUALITY = 82

# One photo decoded at a time per instance: a PNG or WebP of 8,000 x 8,000 decodes to 256 MB
# (a JPEG, scaled as it decodes, to a sixteenth of that at most).
_DECODING = threading.Lock()
Image.MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE  # Pillow's own bomb check, at our limit


class PhotoRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Rendered:
    content_type: str  # what the file is
    renditions: dict[str, bytes]  # size -> WebP
    width: int  # of the gallery rendition
    height: int


def check_size(size: int) -> None:
    if size > MAX_BYTES:
        raise PhotoRejected("PHOTO_TOO_LARGE", f"a photo is at most {MAX_BYTES // (1024 * 1024)} MB")


def render(data: bytes) -> Rendered:
    """Memory stays near the largest rendition's: a JPEG decodes straight at the smallest
    scale that still covers it (DCT scaling), and the pixels are brought down to that
    size before anything else is done to them (turning them upright, colour conversion)."""
    check_size(len(data))
    largest = max(max(box) for box in SIZES.values())
    with _DECODING, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                kind = str(image.format)
                _check_dimensions(image.size, len(data))
                # Square: which side ends up the long one is known only once it is upright.
                image.draft("RGB", (largest, largest))
                image.thumbnail((largest, largest), Image.Resampling.LANCZOS)
                reduced = image.copy()
            upright = _srgb(ImageOps.exif_transpose(reduced))
        except PhotoRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoRejected("PHOTO_DECOMPRESSION_BOMB", "the file would decode to far too many pixels") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise PhotoRejected("PHOTO_NOT_AN_IMAGE", "the file is not a JPEG, PNG or WebP image") from None
    renditions: dict[str, bytes] = {}
    gallery_size = upright.size
    for size, box in sorted(SIZES.items(), key=lambda item: -max(item[1])):  # largest first
        upright.thumbnail(box, Image.Resampling.LANCZOS)  # each from the one before: smaller still
        upright.info = {}  # the original's metadata (EXIF, XMP, ICC) is not carried over
        out = io.BytesIO()
        upright.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
        renditions[size] = out.getvalue()
        if size == "gallery":
            gallery_size = upright.size
    return Rendered(FORMATS[kind], renditions, *gallery_size)


def _check_dimensions(size: tuple[int, int], stored: int) -> None:
    width, height = size
    if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE:
        raise PhotoRejected("PHOTO_DIMENSIONS_TOO_LARGE", f"a photo is at most {MAX_SIDE} pixels a side")
    if width * height * 4 > MAX_EXPANSION * max(stored, 1):
        raise PhotoRejected("PHOTO_DECOMPRESSION_BOMB", "the file would decode to far more than its size suggests")


def _srgb(image: Image.Image) -> Image.Image:
    """RGB or RGBA pixels in sRGB, whatever the file held (CMYK, palette, a camera profile)."""
    profile = image.info.get("icc_profile")
    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode)
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError):
            pass  # a broken profile: the pixels as they are
    return image.convert(mode)
