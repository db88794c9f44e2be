"""Files that trouble a worker, for tests: one never finishes, one wants gigabytes.

`troubled_extract` is handed to `Extractors(target=...)`; it is sent to the worker process
by name, so it lives at module level here.
"""

from __future__ import annotations

import io
import time
import zipfile

from bot.files.extract import Extracted, extract

STUCK = b"STUCK"  # content that starts so never finishes reading
HUNGRY = b"HUNGRY"  # content that starts so asks for 4 GiB at once


def troubled_extract(kind: str, data: bytes, name: str, max_chars: int) -> Extracted:
    """Read like `extract`, except for the two troubled contents above."""
    if data.startswith(STUCK):
        while True:  # a parser caught in a loop
            time.sleep(0.5)
    if data.startswith(HUNGRY):
        hog = bytearray(4 * 1024**3)  # only a memory limit turns this into MemoryError
        del hog
    return extract(kind, data, name, max_chars)


def zip_bomb(member: str, unpacked: int) -> bytes:
    """Return a zip holding `member`: `unpacked` zero bytes, compressed about 1,000 to 1."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(member, "w", force_zip64=True) as stream:
            block = b"\0" * (1024 * 1024)
            for _ in range(unpacked // len(block)):
                stream.write(block)
        archive.writestr("[Content_Types].xml", "<Types/>")
    return out.getvalue()
