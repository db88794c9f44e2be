"""Who may use the bot: allow and deny lists, checked before a message becomes a turn.

Deny lists win over allow lists; an empty allow list allows everyone. `ALLOW_CHANNELS`
also governs DMs: list a DM's id, or the word `im` for every DM. A refused message never
starts a turn. Its sender gets one ephemeral note (only they see it) unless the whole
workspace is refused, where the bot stays silent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot import texts
from bot.errors import StorageUnavailable
from bot.telemetry.scope import turn_scope

if TYPE_CHECKING:
    from bot.db.store import Store
    from bot.settings import Settings
    from bot.slack.writer import Writer
    from bot.telemetry.metrics import Metrics
    from bot.turns.request import TurnRequest

logger = logging.getLogger(__name__)


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
    writer: Writer
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
            task = asyncio.create_task(self._note(request), name=f"turn-note-{request.message_ts}")
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
