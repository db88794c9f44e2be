"""Per-channel (or DM) behaviour: a preset, system prompt, model and temperature.

A channel's settings are stored in the database by the `/llm-config` modal and read at the
start of every turn (cached briefly, and dropped on save). The translation preset changes
more than the prompt: in such a channel every human message is answered with its
translation, each on its own (no thread history, no tools), so a conversation in the
channel never turns into a chat with the bot.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from typing import Any

from bot.clock import Clock, SystemClock
from bot.db.store import Store
from bot.errors import StorageUnavailable

logger = logging.getLogger(__name__)

CACHE_SECONDS = 30.0  # how stale another process's view of a saved change may be


@dataclass(frozen=True, slots=True)
class Preset:
    """A named starting point for a channel's behaviour."""

    key: str
    label: str
    prompt: str = ""  # `{language}` is replaced; empty keeps the bot's SYSTEM_PROMPT
    answer_every_message: bool = False
    stateless: bool = False
    tools: bool = True
    temperature: float | None = None


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset("default", "Assistant (the bot's default prompt)"),
        Preset(
            "translate",
            "Translate every message",
            "You are a translator in a Slack channel. Translate each message you receive into "
            "{language}. If it is already in {language}, translate it into English. Reply with "
            "the translation only: no quotes, no notes, no answers to questions in the text. "
            "Keep Markdown, emoji, names, code and <@U…> mentions unchanged.",
            answer_every_message=True,
            stateless=True,
            tools=False,
            temperature=0.2,
        ),
        Preset(
            "concise",
            "Short answers",
            "You are a helpful assistant in a Slack workspace. Answer in at most three short "
            "sentences or a short list. Use Markdown. Ask a question back when the request is "
            "ambiguous.",
        ),
        Preset(
            "code",
            "Coding helper",
            "You are a senior software engineer helping colleagues in Slack. Give working code "
            "in fenced code blocks with the language named, explain briefly, and point out "
            "risks (security, performance, edge cases).",
            temperature=0.2,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """What is stored for a channel; empty fields fall back to the preset, then the bot."""

    preset: str = "default"
    language: str = ""
    system_prompt: str = ""
    model: str = ""
    temperature: float | None = None
    reasoning_effort: str = ""  # "" keeps REASONING_EFFORT
    mcp_servers: tuple[str, ...] | None = None  # the MCP servers offered here; None: all
    updated_by: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> ChannelConfig:
        """Build from a store row (None: the defaults)."""
        if not row:
            return cls()
        known = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        return cls(**known)

    @property
    def preset_info(self) -> Preset:
        """Return the preset, the default one for an unknown key."""
        return PRESETS.get(self.preset, PRESETS["default"])


@dataclass(frozen=True, slots=True)
class TurnSettings:
    """What one turn uses: prompt, model, temperature, and how the channel is answered."""

    system_prompt: str
    model: str | None = None
    temperature: float | None = None
    answer_every_message: bool = False
    stateless: bool = False
    tools: bool = True
    preset: str = "default"
    reasoning_effort: str | None = None  # None: the bot's REASONING_EFFORT
    mcp_servers: tuple[str, ...] | None = None  # None: every MCP server


def resolve(config: ChannelConfig, default_prompt: str) -> TurnSettings:
    """Combine a channel's settings with its preset and the bot's defaults."""
    preset = config.preset_info
    language = config.language.strip() or "English"
    prompt = config.system_prompt.strip() or preset.prompt.replace("{language}", language)
    return TurnSettings(
        system_prompt=prompt or default_prompt,
        model=config.model.strip() or None,
        temperature=config.temperature if config.temperature is not None else preset.temperature,
        answer_every_message=preset.answer_every_message,
        stateless=preset.stateless,
        tools=preset.tools,
        preset=preset.key,
        reasoning_effort=config.reasoning_effort.strip() or None,
        mcp_servers=config.mcp_servers,
    )


class ChannelSettings:
    """Read and save channel settings, with a short cache for the per-event lookups."""

    def __init__(
        self,
        store: Store,
        *,
        default_prompt: str,
        clock: Clock | None = None,
        allowed_models: tuple[str, ...] = (),
    ) -> None:
        self.store = store
        self.default_prompt = default_prompt
        self.allowed_models = allowed_models  # ALLOWED_MODELS: a stored model outside it is ignored
        self.clock = clock or SystemClock()
        self._cache: dict[tuple[str, str], tuple[float, ChannelConfig]] = {}

    async def get(self, team_id: str, channel_id: str) -> ChannelConfig:
        """Return a channel's settings (defaults when none are stored)."""
        key = (team_id, channel_id)
        cached = self._cache.get(key)
        if cached is not None and self.clock.now() - cached[0] < CACHE_SECONDS:
            return cached[1]
        config = ChannelConfig.from_row(await self.store.channel_settings(team_id, channel_id))
        self._cache[key] = (self.clock.now(), config)
        return config

    async def save(self, team_id: str, channel_id: str, config: ChannelConfig) -> None:
        """Store a channel's settings; this process sees them at once."""
        await self.store.save_channel_settings(team_id, channel_id, asdict(config))
        self._cache[(team_id, channel_id)] = (self.clock.now(), config)
        logger.info("settings of %s changed by %s", channel_id, config.updated_by)

    async def for_turn(self, team_id: str, channel_id: str) -> TurnSettings:
        """Return what a turn in this channel uses; the defaults if the database is away."""
        try:
            config = await self.get(team_id, channel_id)
        except StorageUnavailable:
            config = ChannelConfig()
        settings = resolve(config, self.default_prompt)
        if settings.model and self.allowed_models and settings.model not in self.allowed_models:
            logger.warning("%s names a model outside ALLOWED_MODELS; using the default", channel_id)
            settings = replace(settings, model=None)
        return settings

    async def answers_every_message(self, team_id: str, channel_id: str) -> bool:
        """Tell whether every human message in the channel gets an answer."""
        try:
            config = await self.get(team_id, channel_id)
        except StorageUnavailable:
            return False
        return config.preset_info.answer_every_message
