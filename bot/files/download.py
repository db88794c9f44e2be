"""Download a Slack file with the workspace's bot token, never sending the token elsewhere.

Slack's file objects in events may be incomplete: files from Slack Connect channels carry
only `id` and `file_access: "check_file_info"` (the full object comes from `files.info`,
which fails when the other organisation does not share it with the bot). Downloads go to
`url_private_download` with `Authorization: Bearer`; a response that is an HTML page when
the file is not HTML is Slack's sign-in page (a token without `files:read`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import texts
from bot.errors import BotError

logger = logging.getLogger(__name__)

TokenFor = Callable[[str], Awaitable[str | None]]
SLACK_FILE_HOSTS = (".slack.com", ".slack-edge.com")
MAX_REDIRECTS = 3


class FileSkipped(BotError):
    """A file that will not be read; the message is the reason the user sees."""


def _too_large(size: int, limit: int) -> FileSkipped:
    return FileSkipped(
        texts.FILE_TOO_LARGE.format(size=texts.file_size(size), limit=texts.file_size(limit))
    )


class SlackFiles:
    """Complete file objects with `files.info` and download them with the bot token."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        session: aiohttp.ClientSession,
        token_for: TokenFor,
        api_url: str = "https://slack.com/api/",
        timeout: float = 60.0,
    ) -> None:
        self.client = client
        self.session = session
        self.token_for = token_for
        self.timeout = timeout
        self._api_origin = urlsplit(api_url).netloc.lower()

    async def complete(self, file: dict[str, Any]) -> dict[str, Any]:
        """Return the full file object, asking `files.info` when the event's is partial."""
        if file.get("mode") == "tombstone":
            raise FileSkipped(texts.FILE_NOT_FOUND)
        if file.get("mode") == "hidden_by_limit":
            raise FileSkipped(texts.FILE_HIDDEN)
        partial = file.get("file_access") == "check_file_info" or not _url(file)
        if not partial or file.get("mode") == "external" or not file.get("id"):
            return file
        try:
            response = await self.client.files_info(file=file["id"])
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else ""
            logger.info("files.info for a file failed: %s", error)
            if file.get("file_access") == "check_file_info" or file.get("is_external"):
                raise FileSkipped(texts.FILE_OTHER_ORG) from exc
            raise FileSkipped(texts.FILE_NOT_FOUND) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise FileSkipped(texts.FILE_DOWNLOAD_FAILED.format(why=type(exc).__name__)) from exc
        return {**file, **(response.get("file") or {})}

    async def fetch(self, team_id: str, file: dict[str, Any], limit: int) -> bytes:
        """Download a file's bytes (at most `limit`), or raise FileSkipped saying why."""
        url = _url(file)
        if file.get("mode") == "external" or not url:
            raise FileSkipped(texts.FILE_EXTERNAL_LINK)
        token = await self.token_for(team_id)
        if not token:
            raise FileSkipped(texts.FILE_FORBIDDEN)
        try:
            return await self._get(url, token, limit, expect_html=_is_html(file))
        except TimeoutError as exc:
            raise FileSkipped(texts.FILE_DOWNLOAD_SLOW) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise FileSkipped(texts.FILE_DOWNLOAD_FAILED.format(why=type(exc).__name__)) from exc

    async def _get(self, url: str, token: str, limit: int, *, expect_html: bool) -> bytes:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        for _ in range(MAX_REDIRECTS + 1):
            if not self._trusted(url):
                logger.warning("refused to send the bot token to a file URL on another host")
                raise FileSkipped(texts.FILE_FORBIDDEN)
            headers = {"Authorization": f"Bearer {token}"}
            async with self.session.get(
                url, headers=headers, allow_redirects=False, timeout=timeout
            ) as response:
                if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                    url = urljoin(url, response.headers["Location"])
                    continue
                if response.status in (401, 403):
                    raise FileSkipped(texts.FILE_FORBIDDEN)
                if response.status in (404, 410):
                    raise FileSkipped(texts.FILE_NOT_FOUND)
                if response.status != 200:
                    why = f"HTTP {response.status}"
                    raise FileSkipped(texts.FILE_DOWNLOAD_FAILED.format(why=why))
                if response.content_type == "text/html" and not expect_html:
                    raise FileSkipped(texts.FILE_LOGIN_PAGE)
                if (response.content_length or 0) > limit:
                    raise _too_large(response.content_length or 0, limit)
                data = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > limit:
                        raise _too_large(len(data), limit)
                return bytes(data)
        raise FileSkipped(texts.FILE_DOWNLOAD_FAILED.format(why="too many redirects"))

    def _trusted(self, url: str) -> bool:
        """Tell whether `url` is Slack's (or the configured API host's): the token may go there."""
        parts = urlsplit(url)
        if parts.netloc.lower() == self._api_origin:  # a test or proxy origin set in settings
            return parts.scheme in ("http", "https")
        host = (parts.hostname or "").lower()
        return parts.scheme == "https" and host.endswith(SLACK_FILE_HOSTS) and not parts.port


class LocalFiles:
    """Files the console attached with `/file PATH`: read from disk, only those registered."""

    def __init__(self) -> None:
        self.paths: dict[str, Path] = {}

    def attach(self, path: Path, mimetype: str = "") -> dict[str, Any]:
        """Register a local file and return a Slack-like file object for it."""
        file_id = f"FLOCAL{len(self.paths) + 1}"
        self.paths[file_id] = path
        return {
            "id": file_id,
            "name": path.name,
            "mimetype": mimetype,
            "size": path.stat().st_size,
            "url_private_download": f"local:{file_id}",
        }

    async def complete(self, file: dict[str, Any]) -> dict[str, Any]:
        return file

    async def fetch(self, team_id: str, file: dict[str, Any], limit: int) -> bytes:
        path = self.paths.get(str(file.get("id")))
        if path is None:
            raise FileSkipped(texts.FILE_NOT_FOUND)
        size = path.stat().st_size
        if size > limit:
            raise _too_large(size, limit)
        return await asyncio.to_thread(path.read_bytes)


def _url(file: dict[str, Any]) -> str:
    return str(file.get("url_private_download") or file.get("url_private") or "")


def _is_html(file: dict[str, Any]) -> bool:
    return "html" in str(file.get("mimetype") or "") or file.get("filetype") == "html"
