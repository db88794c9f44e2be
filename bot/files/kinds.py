"""Which files the bot can read, from Slack's mimetype, filetype and the file name."""

from __future__ import annotations

from typing import Any, Literal

from bot.errors import BotError

Kind = Literal["image", "pdf", "text", "docx", "xlsx"]

IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
TEXT_MIMETYPES = {
    "application/json",
    "application/xml",
    "application/x-yaml",
    "application/yaml",
    "application/javascript",
    "application/x-javascript",
    "application/typescript",
    "application/x-sh",
    "application/x-python",
    "application/sql",
    "application/toml",
    "application/x-ndjson",
}
# Slack's `filetype` for snippets and text uploads, and common source/log/data extensions.
TEXT_NAMES = {
    "txt", "text", "md", "markdown", "csv", "tsv", "json", "jsonl", "ndjson", "log", "xml",
    "yaml", "yml", "toml", "ini", "cfg", "conf", "env", "py", "js", "mjs", "ts", "tsx", "jsx",
    "java", "kt", "go", "rs", "c", "h", "cc", "cpp", "hpp", "cs", "rb", "php", "swift", "scala",
    "sh", "bash", "zsh", "ps1", "sql", "html", "htm", "css", "scss", "vue", "svelte", "r",
    "lua", "pl", "dart", "ex", "exs", "erl", "hs", "clj", "diff", "patch", "rst", "tex",
    "dockerfile", "makefile", "gradle", "properties", "srt", "vtt", "javascript", "python",
    "post", "shell", "ruby", "typescript", "golang", "rust", "kotlin", "csharp",
}  # fmt: skip
DOCX_TYPES = {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
XLSX_TYPES = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def extension(name: str) -> str:
    """Return the lower-case extension of a file name ('' when it has none)."""
    base = name.rsplit("/", 1)[-1].lower()
    if base in ("dockerfile", "makefile"):
        return base
    return base.rsplit(".", 1)[-1] if "." in base else ""


def kind_of(file: dict[str, Any]) -> Kind | None:
    """Tell how to read a Slack file object, or None when the bot cannot read its type."""
    mimetype = str(file.get("mimetype") or "").split(";")[0].strip().lower()
    filetype = str(file.get("filetype") or "").lower()
    ext = extension(str(file.get("name") or file.get("title") or ""))
    if mimetype in IMAGE_TYPES or filetype in ("png", "jpg", "jpeg", "gif", "webp"):
        return "image"
    if mimetype == "application/pdf" or filetype == "pdf" or ext == "pdf":
        return "pdf"
    if mimetype in DOCX_TYPES or filetype == "docx" or ext == "docx":
        return "docx"
    if mimetype in XLSX_TYPES or filetype == "xlsx" or ext == "xlsx":
        return "xlsx"
    if mimetype.startswith("image/"):
        return None  # HEIC, TIFF, SVG, ...: not an image type models take
    if mimetype.startswith("text/") or mimetype in TEXT_MIMETYPES:
        return "text"
    if filetype in TEXT_NAMES or ext in TEXT_NAMES:
        return "text"
    return None


def label(file: dict[str, Any]) -> str:
    """Return the name shown for a file in notes."""
    return str(file.get("name") or file.get("title") or file.get("id") or "a file")


class Unreadable(BotError):
    """The file's content could not be read; the message says why, for the user."""
