"""The bot scopes each enabled feature needs (app_manifest.yml grants all of them)."""

from __future__ import annotations

from bot.settings import Settings

ALWAYS = {
    "app_mentions:read": "@-mentions in channels",
    "chat:write": "posting and editing replies",
    "channels:history": "follow-ups in public channels",
    "groups:history": "follow-ups in private channels",
    "im:history": "direct messages",
    "mpim:history": "group DMs",
    "im:read": "direct messages",
    "im:write": "answering shortcuts in the asker's DM",
    "channels:read": "channel information",
    "groups:read": "private channel information",
    "mpim:read": "group DM information",
    "users:read": "names, time zones and the admin checks",
    "assistant:write": "loading status and thread titles",
}


def needed_scopes(settings: Settings) -> dict[str, str]:
    """Return scope -> what needs it, for the features `settings` enables."""
    needed = dict(ALWAYS)
    if settings.files_max_per_question > 0:
        needed["files:read"] = "reading files in questions (FILES_MAX_PER_QUESTION)"
    if settings.config_command or settings.usage_command:
        needed["commands"] = "slash commands and message shortcuts"
    return needed


# Granted or not, the bot runs: without them `search_slack` explains the missing scope.
OPTIONAL = {
    f"search:read.{kind}": "search_slack (Real-time Search)"
    for kind in ("public", "private", "im", "mpim", "files")
}
