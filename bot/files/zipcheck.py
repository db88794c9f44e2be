"""Check a zip-based document (.docx, .xlsx) before parsing it: a zip bomb never gets opened.

A 20 MB upload can inflate to gigabytes. The sizes a zip declares for its members bound
what reading them yields (Python's zipfile stops at the declared size and fails the CRC),
so checking the declared total and the compression ratio before parsing is enough.
"""

from __future__ import annotations

import io
import zipfile

from bot import texts
from bot.files.kinds import Unreadable

MAX_UNZIPPED = 256 * 1024 * 1024  # bytes all members of one document may unpack to
MAX_RATIO = 200  # uncompressed / compressed; real .docx/.xlsx stay well under 100
RATIO_FLOOR = 8 * 1024 * 1024  # below this many unpacked bytes the ratio does not matter


def check_zip(data: bytes) -> None:
    """Raise `Unreadable` when the document would unpack to too much, or suspiciously much."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise Unreadable(texts.FILE_UNREADABLE.format(why="not a valid document")) from exc
    total = sum(m.file_size for m in members)
    packed = max(1, sum(m.compress_size for m in members))
    if total > MAX_UNZIPPED:
        raise Unreadable(
            texts.FILE_ZIP_TOO_LARGE.format(
                size=texts.file_size(total), limit=texts.file_size(MAX_UNZIPPED)
            )
        )
    if total > RATIO_FLOOR and total / packed > MAX_RATIO:
        raise Unreadable(texts.FILE_ZIP_RATIO.format(ratio=total // packed))
