"""Extraction of each supported type, and the guards around downloads (no servers needed)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from bot import texts
from bot.files.download import SlackFiles
from bot.files.extract import extract
from bot.files.kinds import kind_of
from bot.llm import history
from bot.testing.documents import make_pdf, make_png


def _image(url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def test_docx_paragraphs_and_tables_become_text() -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Quarterly plan")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Q1", "hire"
    out = io.BytesIO()
    document.save(out)
    result = extract("docx", out.getvalue(), "plan.docx", 10_000)
    assert result.kind == "text" and "Quarterly plan" in result.content
    assert "Q1 | hire" in result.content


def test_xlsx_sheets_become_comma_separated_rows() -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet.append(["region", "amount"])
    sheet.append(["north", 12])
    out = io.BytesIO()
    book.save(out)
    result = extract("xlsx", out.getvalue(), "sales.xlsx", 10_000)
    assert result.content == "[Sheet Sales]\nregion,amount\nnorth,12\n"


def test_text_in_utf16_with_bom_and_binary_disguised_as_text() -> None:
    assert extract("text", "naïve".encode("utf-16"), "a.txt", 100).content == "naïve"
    assert extract("text", b"\x00\x01\x02ELF", "a.txt", 100).skip == texts.FILE_BINARY


def test_long_text_is_cut_with_a_note_to_the_model() -> None:
    result = extract("text", b"a" * 1000, "big.log", 100)
    assert result.cut == texts.FILE_CUT_SHARE.format(share=10)
    assert result.content.startswith("a" * 100 + "\n[…big.log is cut here")


def test_pdf_cut_at_a_page_says_which_pages_were_read() -> None:
    pdf = make_pdf([["one " * 20], ["two " * 20], ["three " * 20]])
    result = extract("pdf", pdf, "r.pdf", 150)
    assert result.cut == texts.FILE_CUT_PAGES.format(last=2, total=3)


def test_password_protected_and_broken_pdfs_are_named() -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    assert extract("pdf", out.getvalue(), "x.pdf", 100).skip == texts.FILE_PASSWORD
    assert extract("pdf", b"%PDF-1.4 garbage", "x.pdf", 100).skip


def test_animated_gif_becomes_its_first_frame_and_transparency_stays_png() -> None:
    frames = [Image.new("RGB", (20, 10), c) for c in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    result = extract("image", out.getvalue(), "a.gif", 0)
    assert result.content.startswith("data:image/jpeg;base64,")
    assert _image(result.content).size == (20, 10)
    rgba = io.BytesIO()
    Image.new("RGBA", (3000, 100), (0, 0, 0, 0)).save(rgba, "PNG")
    result = extract("image", rgba.getvalue(), "t.png", 0)
    assert result.content.startswith("data:image/png;base64,")
    assert _image(result.content).size == (2048, 68)


def test_image_that_is_not_an_image_is_named() -> None:
    assert extract("image", b"not an image", "x.png", 0).skip == texts.FILE_BAD_IMAGE
    assert extract("image", make_png(4, 4)[:40], "x.png", 0).skip


@pytest.mark.parametrize(
    ("file", "kind"),
    [
        ({"mimetype": "image/heic", "name": "a.heic"}, None),
        ({"mimetype": "application/octet-stream", "name": "main.py"}, "text"),
        ({"filetype": "python", "name": "snippet"}, "text"),
        ({"mimetype": "application/zip", "name": "a.zip"}, None),
        ({"mimetype": "application/msword", "name": "old.doc"}, None),
    ],
)
def test_kinds(file: dict, kind: str | None) -> None:
    assert kind_of(file) == kind


@pytest.mark.parametrize(
    ("url", "trusted"),
    [
        ("https://files.slack.com/files-pri/T1-F1/download/a.pdf", True),
        ("http://files.slack.com/files-pri/T1-F1/a.pdf", False),
        ("https://files.slack.com:8443/a.pdf", False),
        ("https://slack.com.evil.example/a.pdf", False),
        ("https://evil.example/files.slack.com/a.pdf", False),
        ("http://127.0.0.1:9999/files-pri/a", True),  # the configured API origin (tests)
        ("http://127.0.0.1:9998/files-pri/a", False),  # same host, another port
    ],
)
def test_the_bot_token_only_goes_to_slack_file_hosts(url: str, trusted: bool) -> None:
    files = SlackFiles(
        client=None,  # type: ignore[arg-type]
        session=None,  # type: ignore[arg-type]
        token_for=None,  # type: ignore[arg-type]
        api_url="http://127.0.0.1:9999/api/",
    )
    assert files._trusted(url) is trusted


def test_history_counts_image_parts_and_cuts_text_around_them() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    question = {"role": "user", "content": [{"type": "text", "text": "x" * 30_000}, image]}
    fitted = history.fit("sys", [question], 4000)
    content = fitted[-1]["content"]
    assert content[-1] == image, "the image stays"
    assert content[0]["text"].endswith(texts.TRUNCATED_INPUT)
    assert sum(history.message_tokens(m) for m in fitted) <= 4000
