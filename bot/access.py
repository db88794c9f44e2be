"""Who may use the bot: allow and deny lists, and what an asking user may read through tools.

Deny lists win over allow lists; an empty allow list allows everyone. `ALLOW_CHANNELS`
also governs DMs: list a DM's id, or the word `im` for every DM. A refused message never
starts a turn. Its sender gets one ephemeral note (only they see it) unless the whole
workspace is refused, where the bot stays silent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot import messages as texts
from bot.errors import StorageUnavailable
from bot.scope import turn_scope

if TYPE_CHECKING:  # tools import this module: keep it free of the turn machinery
    from bot.conversation import TurnRequest
    from bot.db.store import Store
    from bot.metrics import Metrics
    from bot.settings import Settings
    from bot.slack.writer import SlackWriter

logger = logging.getLogger(__name__)

SlackCall = Callable[..., Awaitable[dict[str, Any]]]
MAX_MEMBER_PAGES = 20


def _ids(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class AccessLists:
    """Allow and deny lists for workspaces, channels and users."""

    allow_teams: frozenset[str] = frozenset()
    deny_teams: frozenset[str] = frozenset()
    allow_channels: frozenset[str] = frozenset()
    deny_channels: frozenset[str] = frozenset()
    allow_users: frozenset[str] = frozenset()
    deny_users: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, s: Settings) -> AccessLists:
        """Read the comma-separated ALLOW_*/DENY_* settings."""
        return cls(
            _ids(s.allow_teams),
            _ids(s.deny_teams),
            _ids(s.allow_channels),
            _ids(s.deny_channels),
            _ids(s.allow_users),
            _ids(s.deny_users),
        )

    @property
    def empty(self) -> bool:
        """Tell whether no list is set (everyone is allowed)."""
        return not any(getattr(self, name) for name in self.__slots__)

    def refuses(self, team_id: str, channel_id: str, user_id: str) -> str | None:
        """Return which scope refuses this message ('team', 'channel', 'user'), or None."""
        channel_keys = {channel_id, "im"} if channel_id.startswith("D") else {channel_id}
        checks = (
            ("team", {team_id}, self.allow_teams, self.deny_teams),
            ("channel", channel_keys, self.allow_channels, self.deny_channels),
            ("user", {user_id}, self.allow_users, self.deny_users),
        )
        for scope, keys, allow, deny in checks:
            if keys & deny or (allow and not keys & allow):
                return scope
        return None


@dataclass
class Gate:
    """Let allowed messages start a turn; refuse the rest once, politely and quietly."""

    lists: AccessLists
    store: Store
    writer: SlackWriter
    metrics: Metrics | None = None
    _notes: set[asyncio.Task[None]] = field(default_factory=set)

    def admit(self, request: TurnRequest) -> bool:
        """Tell whether `request` may start a turn; schedule the refusal note when not."""
        scope = self.lists.refuses(request.team_id, request.channel, request.user_id)
        if scope is None:
            return True
        logger.info("message %s refused by the %s access list", request.message_ts, scope)
        if self.metrics is not None:
            self.metrics.denied.labels(scope=scope).inc()
        if scope != "team":
            task = asyncio.create_task(self._note(request))
            self._notes.add(task)
            task.add_done_callback(self._notes.discard)
        return False

    async def _note(self, request: TurnRequest) -> None:
        """Tell the sender, once per message even when Slack redelivers it."""
        with turn_scope(request.team_id, request.channel):  # the workspace's token
            await self._tell(request)

    async def _tell(self, request: TurnRequest) -> None:
        try:
            if not await self.store.claim(
                request.team_id, request.channel, request.message_ts, request.event_id
            ):
                return
            await self.writer.call(
                request.team_id,
                "chat.postEphemeral",
                channel=request.channel,
                user=request.user_id,
                thread_ts=request.thread_ts or None,
                text=texts.ACCESS_DENIED,
            )
        except StorageUnavailable:
            pass
        except Exception:
            logger.exception("could not tell a refused user in %s", request.channel)


async def asker_can_read(
    call: SlackCall, channel: dict[str, Any], user_id: str | None, *, team_id: str
) -> bool:
    """Tell whether `user_id` can see the conversation `channel` (a conversations.info object).

    Private channels, DMs and group DMs: only members. Public channels: members, and full
    members of this workspace (not guests, not people from other organisations).
    """
    if not user_id or not channel.get("id"):
        return False
    if channel.get("is_im"):
        return channel.get("user") == user_id
    if await _is_member(call, channel["id"], user_id):
        return True
    if channel.get("is_private") or channel.get("is_mpim") or channel.get("is_group"):
        return False
    user = (await call("users.info", user=user_id)).get("user") or {}
    guest = user.get("is_restricted") or user.get("is_ultra_restricted")
    outsider = user.get("is_stranger") or (user.get("team_id") not in (None, team_id))
    return not (guest or outsider or user.get("deleted"))


async def _is_member(call: SlackCall, channel_id: str, user_id: str) -> bool:
    cursor = ""
    for _ in range(MAX_MEMBER_PAGES):
        params: dict[str, Any] = {"channel": channel_id, "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = await call("conversations.members", **params)
        if user_id in (page.get("members") or []):
            return True
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            return False
    return False
