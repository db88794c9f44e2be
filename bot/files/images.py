"""Prepare an image for the model: a supported format, at most 2,048 px on its long side."""

from __future__ import annotations

import base64
import io

from bot import texts
from bot.files.kinds import Unreadable

MAX_SIDE = 2048  # what vision models use at most; larger costs tokens and bandwidth only
MAX_BYTES = 4 * 1024 * 1024  # re-encode anything larger, whatever its size in pixels
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


def to_data_url(data: bytes) -> str:
    """Return the image as a `data:` URL, scaled down and re-encoded when needed."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced size directly
        fmt = image.format or ""
        if fmt not in FORMATS:
            raise Unreadable(texts.FILE_IMAGE_FORMAT)
        image.load()
    except Image.DecompressionBombError as exc:
        raise Unreadable(texts.FILE_IMAGE_BOMB) from exc
    except (OSError, SyntaxError) as exc:
        raise Unreadable(texts.FILE_BAD_IMAGE) from exc
    large = max(image.size) > MAX_SIDE
    if not large and fmt != "GIF" and len(data) <= MAX_BYTES:
        return _url(FORMATS[fmt], data)
    # An animated GIF becomes its first frame: many servers take only still images.
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
    out = io.BytesIO()
    if alpha:
        image.convert("RGBA").save(out, "PNG", optimize=True)
        return _url("image/png", out.getvalue())
    image.convert("RGB").save(out, "JPEG", quality=85)
    return _url("image/jpeg", out.getvalue())


def _url(mimetype: str, data: bytes) -> str:
    return f"data:{mimetype};base64,{base64.b64encode(data).decode('ascii')}"
