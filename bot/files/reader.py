"""Read the files of a question: check, download, extract, and say why any was skipped.

Files are only ever read from messages of the conversation the question is asked in
(the question itself, a `file_share` in the thread, or the thread's earlier messages when
it is imported), so whoever asks can open them in Slack too. A file object that names the
conversations it is shared in (as `files.info` does) must include this one, unless the
asker uploaded it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot import texts
from bot.db.records import StoredFile
from bot.files.download import FileSkipped
from bot.files.kinds import kind_of, label
from bot.files.workers import Extractors

logger = logging.getLogger(__name__)

Vision = Literal["auto", "true", "false"]
FILE_SHARE_OF_BUDGET = 0.75  # of HISTORY_TOKEN_BUDGET, for the text of one question's files


class Fetcher(Protocol):
    async def complete(self, file: dict[str, Any]) -> dict[str, Any]: ...

    async def fetch(self, team_id: str, file: dict[str, Any], limit: int) -> bytes: ...


@dataclass
class FileReader:
    """Read files for turns; one per process (its pool and memory bound are shared)."""

    fetcher: Fetcher
    extractors: Extractors
    max_bytes: int = 20 * 1024 * 1024
    max_files: int = 10
    vision: Vision = "auto"
    at_once: int = 4  # files downloaded and extracted at once, process-wide: bounds memory
    _slots: asyncio.Semaphore | None = None

    def reading(
        self, team_id: str, channel_id: str, user_id: str, *, blind: bool, history_budget: int
    ) -> Reading:
        """Start reading the files of one question (`blind`: the model is known to refuse images)."""
        chars = int(history_budget * 3 * FILE_SHARE_OF_BUDGET)  # tokens are bytes / 3
        return Reading(self, team_id, channel_id, user_id, blind, chars)

    def sees_images(self, blind: bool) -> bool:
        """Tell whether images should be sent to a model (`blind`: it is known to refuse them)."""
        return self.vision == "true" or (self.vision == "auto" and not blind)

    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(max(1, self.at_once))
        return self._slots


@dataclass
class Reading:
    """The files of one question: how many were read, the text room left, the notes."""

    reader: FileReader
    team_id: str
    channel_id: str
    user_id: str
    blind: bool
    chars_left: int
    count: int = 0
    notes: list[str] = field(default_factory=list)  # one line per skipped or cut file

    async def read(self, files: Sequence[dict[str, Any]]) -> tuple[StoredFile, ...]:
        """Read the files of one message; skipped files add a note instead."""
        read: list[StoredFile] = []
        for file in files:
            if not isinstance(file, dict):
                continue
            try:
                read.append(await self._one(file))
            except FileSkipped as exc:
                logger.info("file %s not read: %s", file.get("id"), exc)
                self.notes.append(texts.file_skipped(label(file), str(exc)))
        return tuple(read)

    async def _one(self, file: dict[str, Any]) -> StoredFile:
        reader = self.reader
        if self.count >= reader.max_files:
            raise FileSkipped(texts.FILE_TOO_MANY.format(count=reader.max_files))
        self.count += 1
        file = await reader.fetcher.complete(file)
        self._check_access(file)
        kind = kind_of(file)
        if kind is None:
            shown = file.get("pretty_type") or file.get("filetype") or file.get("mimetype")
            raise FileSkipped(texts.FILE_UNSUPPORTED.format(kind=shown or "unknown"))
        if kind == "image" and not reader.sees_images(self.blind):
            off = reader.vision == "false"
            raise FileSkipped(texts.FILE_VISION_OFF if off else texts.FILE_BLIND_MODEL)
        size = int(file.get("size") or 0)
        if size > reader.max_bytes:
            raise FileSkipped(
                texts.FILE_TOO_LARGE.format(
                    size=texts.file_size(size), limit=texts.file_size(reader.max_bytes)
                )
            )
        if kind != "image" and self.chars_left < 200:
            raise FileSkipped(texts.FILE_NO_ROOM)
        name = label(file)
        async with reader.slots():
            data = await reader.fetcher.fetch(self.team_id, file, reader.max_bytes)
            result = await reader.extractors.extract(kind, data, name, self.chars_left)
            del data
        if result.skip:
            raise FileSkipped(result.skip)
        if result.cut:
            self.notes.append(texts.file_cut(name, result.cut))
        if result.kind == "text":
            self.chars_left -= len(result.content)
        return StoredFile(
            name=name,
            mimetype=str(file.get("mimetype") or ""),
            kind=result.kind,
            content=result.content,
            file_id=str(file.get("id") or ""),
            user_id=file.get("user"),
        )

    def _check_access(self, file: dict[str, Any]) -> None:
        """Refuse a file whose shares are listed and do not include this conversation."""
        listed = [file.get(key) for key in ("channels", "groups", "ims")]
        if not any(isinstance(ids, list) for ids in listed):
            return  # event file objects do not list shares; the message was in this channel
        shared = {cid for ids in listed if isinstance(ids, list) for cid in ids}
        if self.channel_id not in shared and file.get("user") != self.user_id:
            raise FileSkipped(texts.FILE_NOT_SHARED_HERE)


def files_off(files: Sequence[dict[str, Any]]) -> list[str]:
    """Return the notes for files on a question when reading files is turned off."""
    return [texts.file_skipped(label(file), texts.FILE_READING_OFF) for file in files]
