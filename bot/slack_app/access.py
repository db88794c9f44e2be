"""Who may use the bot: allow and deny lists for workspaces, channels and users.

Deny lists win over allow lists; an empty allow list allows everyone. `ALLOW_CHANNELS`
also governs DMs: list a DM's id, or the word `im` for every DM. One Bolt middleware
applies them to every surface (`bot.slack_app.access_middleware`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

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

    def refuses(self, team_id: str, channel_id: str | None, user_id: str | None) -> str | None:
        """Return which scope refuses this message ('team', 'channel', 'user'), or None.

        A channel or user of None is not checked (a workflow step may name neither).
        """
        channel = channel_id or ""
        channel_keys = {channel, "im"} if channel.startswith("D") else {channel}
        checks = (
            ("team", {team_id}, self.allow_teams, self.deny_teams),
            ("channel", channel_keys, self.allow_channels, self.deny_channels),
            ("user", {user_id or ""}, self.allow_users, self.deny_users),
        )
        skipped = {"channel"} if channel_id is None else set()
        skipped |= {"user"} if user_id is None else set()
        for scope, keys, allow, deny in checks:
            if scope in skipped:
                continue
            if keys & deny or (allow and not keys & allow):
                return scope
        return None
