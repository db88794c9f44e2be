"""Turn a downloaded file into what the model reads: text, or an image as a data URL.

Everything here is plain synchronous code run in a worker process (`workers.py`), so that
a large PDF never holds the event loop. Output is bounded: text stops at `max_chars` (with
a note to the model saying what was left out), images are scaled down (`images.py`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from bot import texts
from bot.files.kinds import Unreadable
from bot.files.zipcheck import check_zip

MAX_PDF_PAGES = 2000  # pages looked at; a cut note says when there were more


@dataclass(frozen=True, slots=True)
class Extracted:
    """What a file became: text or an image (data URL), or why it gave nothing."""

    kind: str = "text"  # text | image
    content: str = ""
    cut: str = ""  # for the user: what was left out because it did not fit
    skip: str = ""  # for the user: why nothing could be read


def extract(kind: str, data: bytes, name: str, max_chars: int) -> Extracted:
    """Read `data` as `kind` ('pdf', 'text', 'docx', 'xlsx', 'image'); never raise."""
    try:
        if kind == "image":
            from bot.files.images import to_data_url

            return Extracted("image", to_data_url(data))
        if kind == "pdf":
            text, cut = pdf_text(data, max_chars)
        elif kind == "docx":
            check_zip(data)
            text, cut = _bounded(docx_text(data), max_chars)
        elif kind == "xlsx":
            check_zip(data)
            text, cut = xlsx_text(data, max_chars)
        else:
            text, cut = _bounded(decode_text(data), max_chars)
    except Unreadable as exc:
        return Extracted(skip=str(exc))
    except MemoryError:  # over the worker's memory limit (FILE_WORKER_MEMORY_MB)
        return Extracted(skip=texts.FILE_OUT_OF_MEMORY)
    except Exception as exc:  # noqa: BLE001 - a malformed file is the user's news, not a crash
        return Extracted(skip=texts.FILE_UNREADABLE.format(why=type(exc).__name__))
    if not text.strip():
        return Extracted(skip=texts.FILE_NO_TEXT_PDF if kind == "pdf" else texts.FILE_NO_TEXT)
    if cut:
        text += "\n" + texts.FILE_CUT_MODEL_NOTE.format(name=name, what=cut)
    return Extracted("text", text, cut=cut)


def _bounded(text: str, max_chars: int) -> tuple[str, str]:
    if len(text) <= max_chars:
        return text, ""
    share = max(1, round(100 * max_chars / len(text)))
    return text[:max_chars], texts.FILE_CUT_SHARE.format(share=share)


def decode_text(data: bytes) -> str:
    """Decode text whatever its charset: UTF-8 (BOM or not), UTF-16 with a BOM, else cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    if b"\x00" in data[:8192]:
        raise Unreadable(texts.FILE_BINARY)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # maps every byte: never fails


def pdf_text(data: bytes, max_chars: int) -> tuple[str, str]:
    """Return a PDF's text with numbered pages, stopping at `max_chars`."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable(texts.FILE_PASSWORD)
        total = len(reader.pages)
    except PdfReadError as exc:
        raise Unreadable(texts.FILE_BAD_PDF) from exc
    parts: list[str] = []
    size = 0
    for number, page in enumerate(reader.pages, start=1):
        if number > MAX_PDF_PAGES:
            return "".join(parts), texts.FILE_CUT_PAGES.format(last=number - 1, total=total)
        text = (page.extract_text() or "").strip()
        if not text:
            continue
        block = f"[Page {number}]\n{text}\n\n"
        if size + len(block) > max_chars:
            parts.append(block[: max(0, max_chars - size)])
            if number == 1:
                return "".join(parts), texts.FILE_CUT_FIRST_PAGE.format(total=total)
            return "".join(parts), texts.FILE_CUT_PAGES.format(last=number, total=total)
        parts.append(block)
        size += len(block)
    return "".join(parts), ""


def docx_text(data: bytes) -> str:
    """Return a Word document's paragraphs and tables as text."""
    import docx

    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines.append("")
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n".join(lines)


def xlsx_text(data: bytes, max_chars: int) -> tuple[str, str]:
    """Return an Excel workbook's sheets as comma-separated rows, stopping at `max_chars`."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    out: list[str] = []
    size = 0
    try:
        for sheet in book.worksheets:
            out.append(f"[Sheet {sheet.title}]\n")
            for row in sheet.iter_rows(values_only=True):
                line = ",".join("" if v is None else str(v) for v in row).rstrip(",") + "\n"
                if size + len(line) > max_chars:
                    return "".join(out), texts.FILE_CUT_ROWS.format(sheet=sheet.title)
                out.append(line)
                size += len(line)
    finally:
        book.close()
    return "".join(out), ""
