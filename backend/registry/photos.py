"""A station photo as it is kept: whatever the phone or camera sent (JPEG, PNG or WebP up to
10 MiB), turned upright by its EXIF orientation, shrunk to at most 1600 px on the long side and
re-encoded as a JPEG (quality 82) without any EXIF (no GPS position, no camera serial). Pure:
bytes in, bytes out; the caller runs it in a worker thread."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.errors import DomainError

if TYPE_CHECKING:
    from PIL import Image

MAX_BYTES = 10 * 1024 * 1024  # what an upload may be (10 MiB)
LONG_SIDE = 1600  # px, the long side of the kept photo at most
QUALITY = 82
# A 10 MiB file can still claim a huge canvas (a decompression bomb): 50 megapixels is more than
# any phone camera of these years takes (a 48 MP sensor's photo is 8000 × 6000).
MAX_PIXELS = 50_000_000
FORMATS = {"JPEG", "PNG", "WEBP"}
MEDIA_TYPES = {"image/jpeg", "image/png", "image/webp"}


@dataclass(frozen=True)
class Photo:
    content: bytes  # the JPEG as kept
    width: int
    height: int


def too_large(size: int) -> DomainError:
    return DomainError("photo_too_large", status=413, field="file", mib=MAX_BYTES // 2**20)


def prepared(body: bytes) -> Photo:
    """The kept JPEG of an upload; 413 `photo_too_large` over 10 MiB, 422 `photo_unreadable`
    when it is not a JPEG, PNG or WebP picture (whatever its name or declared type said)."""
    # Pillow is imported by the first upload a process takes, not by every process at start.
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(body) > MAX_BYTES:
        raise too_large(len(body))
    try:
        with Image.open(io.BytesIO(body)) as image:
            if image.format not in FORMATS:
                raise DomainError("photo_unreadable", field="file")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise DomainError("photo_unreadable", field="file")
            if image.format == "JPEG":
                # Decode at a power-of-two scale no smaller than the target: a 4000 × 3000
                # photo decodes as 2000 × 1500, a quarter of the work and memory.
                scale = LONG_SIDE / max(width, height)
                if scale < 1:
                    image.draft("RGB", (int(width * scale) + 1, int(height * scale) + 1))
            upright = ImageOps.exif_transpose(image)
            flat = _flattened(upright)
            flat.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
            output = io.BytesIO()
            flat.save(output, "JPEG", quality=QUALITY, optimize=True, progressive=True)
            return Photo(output.getvalue(), flat.width, flat.height)
    except DomainError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise DomainError("photo_unreadable", field="file") from None


def _flattened(image: Image.Image) -> Image.Image:
    """RGB on white: a transparent PNG's background is white in the JPEG, not black."""
    from PIL import Image

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
