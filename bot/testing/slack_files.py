"""Files in the fake Slack: `files.info` and private download URLs that need the bot token.

As on Slack: a download without `Authorization: Bearer <bot token>` is refused (403 here),
an unknown or removed file answers 404, and a file shared from another organisation (Slack
Connect) reaches the bot only as ``{"id", "file_access": "check_file_info"}`` with
`files.info` refusing it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.testing.slack_rules import SlackError

Json = dict[str, Any]
_ids = itertools.count(1)


@dataclass
class FakeFile:
    """A file stored in the fake workspace."""

    id: str
    name: str
    data: bytes
    mimetype: str
    filetype: str
    user: str
    channels: list[str] = field(default_factory=list)
    other_org: bool = False  # Slack Connect: the bot cannot open it
    delay: float = 0.0  # seconds before the download answers
    gone: bool = False  # downloads answer 404
    content_type: str | None = None  # what the download says it is (default: mimetype)
    redirect: str | None = None  # answer the download with a 302 to this URL


@dataclass(frozen=True)
class Download:
    """One recorded download request."""

    file_id: str
    token: str | None
    status: int


class SlackFilesMixin:
    """Serve files; mixed into FakeSlack (needs `origin`, `_pause`, `api_methods`)."""

    team_id: str
    api_methods: dict[str, Any]

    def _init_files(self) -> None:
        self.files: dict[str, FakeFile] = {}
        self.downloads: list[Download] = []
        self.api_methods["files.info"] = self._files_info

    @property
    def origin(self) -> str:  # provided by FakeServer
        raise NotImplementedError

    async def _pause(self, seconds: float) -> None:  # provided by FakeServer
        raise NotImplementedError

    def add_file(
        self,
        name: str,
        data: bytes,
        mimetype: str,
        *,
        filetype: str = "",
        user: str = "U1",
        channel: str = "C1",
        **options: Any,
    ) -> Json:
        """Store a file; return its object as a message event carries it."""
        file_id = f"F{next(_ids):07d}"
        filetype = filetype or (name.rsplit(".", 1)[-1].lower() if "." in name else "binary")
        self.files[file_id] = FakeFile(
            file_id, name, data, mimetype, filetype, user, [channel], **options
        )
        return self.event_file(file_id)

    def event_file(self, file_id: str) -> Json:
        """Return a file as message events carry it (partial for Slack Connect files)."""
        file = self.files[file_id]
        if file.other_org:
            return {"id": file.id, "file_access": "check_file_info"}
        base = f"{self.origin}/files-pri/{self.team_id}-{file.id}"
        return {
            "id": file.id,
            "created": 1_600_000_000,
            "timestamp": 1_600_000_000,
            "name": file.name,
            "title": file.name,
            "mimetype": file.mimetype,
            "filetype": file.filetype,
            "pretty_type": file.filetype.upper(),
            "user": file.user,
            "user_team": self.team_id,
            "mode": "hosted",
            "editable": False,
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "size": len(file.data),
            "url_private": f"{base}/{file.name}",
            "url_private_download": f"{base}/download/{file.name}",
            "permalink": f"https://fake.slack.com/files/{file.user}/{file.id}/{file.name}",
        }

    def _files_info(self, args: Json) -> Json:
        file = self.files.get(str(args.get("file") or ""))
        if file is None or file.other_org or file.gone:
            raise SlackError("file_not_found")
        full = {**self.event_file(file.id), "channels": list(file.channels)}
        full.update(groups=[], ims=[])
        return {"ok": True, "file": full, "comments": [], "response_metadata": {"next_cursor": ""}}

    def _add_file_routes(self, app: web.Application) -> None:
        app.router.add_get("/files-pri/{key}/download/{name}", self._download)
        app.router.add_get("/files-pri/{key}/{name}", self._download)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        file = self.files.get(key.split("-", 1)[-1])
        if file is not None and request.match_info["name"] != file.name:
            file = None  # the URL must be the file's own
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        status = 200
        if not token or not token.startswith("xoxb-"):
            status = 403
        elif file is None or file.gone or file.other_org:
            status = 404
        self.downloads.append(Download(file.id if file else key, token, status))
        if status != 200 or file is None:
            return web.Response(status=status, text="Forbidden" if status == 403 else "Not found")
        await self._pause(file.delay)
        if file.redirect:
            raise web.HTTPFound(file.redirect)
        return web.Response(
            body=file.data, content_type=file.content_type or file.mimetype or "application/binary"
        )
