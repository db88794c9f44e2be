"""Who may change a channel's settings (`/llm-config`), and which models they may pick.

The access lists (ALLOW_/DENY_) decide who may use the command at all, before it runs
(`bot.slack_app.access_middleware`). Of those, guests
and people from other organisations (Slack Connect) never change settings: a channel's
system prompt reaches everyone there. `CONFIG_EDITORS` narrows editing further to listed
user ids and, with the word `admins`, workspace admins and owners; empty lets every other
person in the channel edit. Whoever may not edit sees the settings summarised, without
the prompt. The check runs when the modal opens and again when it is submitted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot import texts

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)


def _ids(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class ConfigPolicy:
    """The rules for `/llm-config`: editors and the allowed models (access lists: middleware)."""

    editors: frozenset[str] = frozenset()  # user ids and/or "admins"; empty: everyone
    allowed_models: tuple[str, ...] = ()  # empty: any model name

    @classmethod
    def from_settings(cls, s: Settings) -> ConfigPolicy:
        """Read CONFIG_EDITORS and ALLOWED_MODELS."""
        models = tuple(dict.fromkeys(m.strip() for m in s.allowed_models.split(",") if m.strip()))
        return cls(_ids(s.config_editors), models)

    def model_allowed(self, model: str) -> bool:
        """Tell whether `model` (empty: the bot's default) may be chosen."""
        return not model or not self.allowed_models or model in self.allowed_models

    async def edit_refusal(
        self, client: Any, team_id: str, user_id: str, *, user_team: str | None = None
    ) -> str | None:
        """Return why `user_id` may not change settings (a sentence for them), or None."""
        if user_team and user_team != team_id:
            return texts.CONFIG_OUTSIDER
        try:
            user = (await client.users_info(user=user_id)).get("user") or {}
        except SlackApiError as exc:
            logger.warning("could not look up %s for /llm-config (%s)", user_id, exc)
            return texts.CONFIG_UNCHECKED  # fail closed: a prompt reaches the whole channel
        if user.get("is_restricted") or user.get("is_ultra_restricted"):
            return texts.CONFIG_GUEST
        if user.get("is_stranger") or user.get("team_id") not in (None, team_id):
            return texts.CONFIG_OUTSIDER
        if user.get("deleted") or user.get("is_bot"):
            return texts.CONFIG_NOT_EDITOR
        if not self.editors or user_id in self.editors:
            return None
        if "admins" in self.editors and (user.get("is_admin") or user.get("is_owner")):
            return None
        return texts.CONFIG_NOT_EDITOR
