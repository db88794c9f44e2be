"""The `/llm-config` slash command: a modal that sets a channel's (or DM's) behaviour."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import texts
from bot.errors import StorageUnavailable
from bot.slack_app import mcp_choice
from bot.turns.channel_settings import PRESETS, ChannelConfig, ChannelSettings

logger = logging.getLogger(__name__)

CALLBACK_ID = "llm_config"
FIELDS = ("preset", "language", "system_prompt", "model", "temperature")


def build_view(
    config: ChannelConfig,
    *,
    team_id: str,
    channel_id: str,
    default_model: str,
    mcp_servers: Sequence[str] = (),
) -> dict:
    """Return the modal showing `config`, ready for views.open."""

    def option(key: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": PRESETS[key].label}, "value": key}

    def text_input(block: str, label: str, value: str, **extra: Any) -> dict[str, Any]:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", **extra}
        if value:
            element["initial_value"] = value
        return {
            "type": "input",
            "block_id": block,
            "optional": True,
            "label": {"type": "plain_text", "text": label},
            "element": element,
        }

    preset = {
        "type": "static_select",
        "action_id": "value",
        "options": [option(key) for key in PRESETS],
        "initial_option": option(config.preset_info.key),
    }
    temperature: dict[str, Any] = {
        "type": "number_input",
        "action_id": "value",
        "is_decimal_allowed": True,
        "min_value": "0",
        "max_value": "2",
    }
    if config.temperature is not None:
        temperature["initial_value"] = f"{config.temperature:g}"
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": texts.config_intro(channel_id)}},
        {
            "type": "input",
            "block_id": "preset",
            "label": {"type": "plain_text", "text": "Preset"},
            "element": preset,
        },
        text_input(
            "language",
            "Language (for the Translate preset)",
            config.language,
            placeholder={"type": "plain_text", "text": "e.g. German"},
        ),
        text_input(
            "system_prompt",
            "System prompt (empty: the preset's)",
            config.system_prompt,
            multiline=True,
            max_length=4000,
        ),
        text_input(
            "model",
            "Model (empty: the bot's)",
            config.model,
            placeholder={"type": "plain_text", "text": default_model},
        ),
        {
            "type": "input",
            "block_id": "temperature",
            "optional": True,
            "label": {"type": "plain_text", "text": "Temperature (0–2, empty: the model's)"},
            "element": temperature,
        },
    ]
    servers = mcp_choice.block(mcp_servers, config.mcp_servers)
    if servers is not None:
        blocks.append(servers)
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": json.dumps({"team": team_id, "channel": channel_id}),
        "title": {"type": "plain_text", "text": "Bot settings"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def parse_submission(
    view: dict[str, Any], user_id: str, mcp_servers: Sequence[str] = ()
) -> tuple[ChannelConfig, dict[str, str]]:
    """Read the submitted modal; return the settings and any per-field errors."""
    values = (view.get("state") or {}).get("values") or {}

    def read(block: str) -> str:
        element = (values.get(block) or {}).get("value") or {}
        selected = element.get("selected_option")
        if selected:
            return str(selected.get("value") or "")
        return str(element.get("value") or "").strip()

    errors: dict[str, str] = {}
    preset = read("preset") or "default"
    if preset not in PRESETS:
        errors["preset"] = texts.CONFIG_BAD_PRESET
    language = read("language")
    if preset == "translate" and not language:
        errors["language"] = texts.CONFIG_NEED_LANGUAGE
    temperature: float | None = None
    raw = read("temperature")
    if raw:
        try:
            temperature = float(raw)
        except ValueError:
            temperature = -1.0
        if not 0.0 <= temperature <= 2.0:
            errors["temperature"] = texts.CONFIG_BAD_TEMPERATURE
    config = ChannelConfig(
        preset=preset,
        language=language[:64],
        system_prompt=read("system_prompt"),
        model=read("model")[:128],
        temperature=temperature,
        mcp_servers=mcp_choice.read(values, mcp_servers),
        updated_by=user_id,
    )
    return config, errors


def register(
    app: AsyncApp,
    *,
    channels: ChannelSettings,
    default_model: str,
    command: str,
    mcp_servers: Sequence[str] = (),
) -> None:
    """Attach the slash command and its modal's submission handler to `app`."""

    @app.command(command)
    async def open_config(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        team_id, channel_id = body.get("team_id", ""), body.get("channel_id", "")
        try:
            config = await channels.get(team_id, channel_id)
        except StorageUnavailable:
            config = ChannelConfig()
        view = build_view(
            config,
            team_id=team_id,
            channel_id=channel_id,
            default_model=default_model,
            mcp_servers=mcp_servers,
        )
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(CALLBACK_ID)
    async def save_config(
        ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any
    ) -> None:
        user_id = (body.get("user") or {}).get("id", "")
        config, errors = parse_submission(view, user_id, mcp_servers)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        try:
            where = json.loads(view.get("private_metadata") or "{}")
            team_id, channel_id = str(where["team"]), str(where["channel"])
        except (ValueError, KeyError, TypeError):
            await ack(response_action="errors", errors={"preset": texts.CONFIG_LOST_CHANNEL})
            return
        try:
            await channels.save(team_id, channel_id, config)
        except StorageUnavailable:
            await ack(response_action="errors", errors={"preset": texts.STORAGE_DOWN})
            return
        await ack()
        try:
            await client.chat_postEphemeral(
                channel=channel_id,
                user=user_id,
                text=texts.config_saved(
                    channel_id,
                    config.preset_info.label,
                    language=config.language,
                    model=config.model,
                    temperature=config.temperature,
                    custom_prompt=bool(config.system_prompt),
                ),
            )
        except Exception:  # noqa: BLE001 - the settings are saved; the notice is a courtesy
            logger.warning("could not confirm the new settings of %s", channel_id)
