"""The `/llm-config` slash command: a modal that sets a channel's (or DM's) behaviour."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import texts
from bot.errors import StorageUnavailable
from bot.slack_app import mcp_choice
from bot.slack_app.config_access import ConfigPolicy
from bot.turns.channel_settings import PRESETS, ChannelConfig, ChannelSettings

logger = logging.getLogger(__name__)

CALLBACK_ID = "llm_config"
FIELDS = ("preset", "language", "system_prompt", "model", "temperature", "reasoning_effort")
# What model names look like at every provider ("gpt-4o-mini", "meta-llama/Llama-3.1-8B",
# "qwen2.5:7b", "@cf/meta/llama-3"): nothing else is stored, shown, logged or exported.
SAFE_MODEL = re.compile(r"[A-Za-z0-9@][A-Za-z0-9._:/@+-]{0,127}")
DEFAULT_MODEL_VALUE = "-"  # the "bot's default" option of the model list (values cannot be empty)
EFFORTS = ("minimal", "low", "medium", "high")  # what OpenAI-compatible servers accept


def build_view(
    config: ChannelConfig,
    *,
    team_id: str,
    channel_id: str,
    default_model: str,
    allowed_models: tuple[str, ...] = (),
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

    def effort_option(value: str) -> dict[str, Any]:
        label = value or "The bot's default"
        return {"text": {"type": "plain_text", "text": label}, "value": value or "default"}

    effort: dict[str, Any] = {
        "type": "static_select",
        "action_id": "value",
        "options": [effort_option(v) for v in ("", *EFFORTS)],
        "initial_option": effort_option(config.reasoning_effort),
    }
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
        model_select(config.model, default_model, allowed_models)
        if allowed_models
        else text_input(
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
        {
            "type": "input",
            "block_id": "reasoning_effort",
            "optional": True,
            "label": {"type": "plain_text", "text": "Reasoning effort (reasoning models)"},
            "element": effort,
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


def model_select(current: str, default_model: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """Return the model input as a list of the allowed models (ALLOWED_MODELS)."""

    def option(label: str, value: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": label[:75]}, "value": value[:150]}

    options = [option(f"The bot's default ({default_model})", DEFAULT_MODEL_VALUE)]
    options += [option(name, name) for name in allowed[:99]]
    chosen = next((o for o in options[1:] if o["value"] == current), options[0])
    return {
        "type": "input",
        "block_id": "model",
        "optional": True,
        "label": {"type": "plain_text", "text": "Model"},
        "element": {
            "type": "static_select",
            "action_id": "value",
            "options": options,
            "initial_option": chosen,
        },
    }


def build_summary(config: ChannelConfig, *, channel_id: str, reason: str) -> dict:
    """Return a read-only modal summarising `config` (not its prompt) for a non-editor."""
    summary = texts.config_summary(
        channel_id,
        config.preset_info.label,
        language=config.language,
        model=config.model,
        temperature=config.temperature,
        custom_prompt=bool(config.system_prompt),
    )
    return {
        "type": "modal",
        "callback_id": f"{CALLBACK_ID}_summary",
        "title": {"type": "plain_text", "text": "Bot settings"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": reason}]},
        ],
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
    effort = read("reasoning_effort")
    effort = effort if effort in EFFORTS else ""
    model = "" if read("model") == DEFAULT_MODEL_VALUE else read("model")
    if model and not SAFE_MODEL.fullmatch(model):
        errors["model"] = texts.CONFIG_MODEL_CHARSET
    config = ChannelConfig(
        preset=preset,
        language=language[:64],
        system_prompt=read("system_prompt"),
        model=model[:128],
        temperature=temperature,
        reasoning_effort=effort,
        mcp_servers=mcp_choice.read(values, mcp_servers),
        updated_by=user_id,
    )
    return config, errors


def submitted_channel(view: dict[str, Any]) -> tuple[str, str]:
    """Return the workspace and channel a submitted modal is for; ("", "") when lost."""
    try:
        where = json.loads(view.get("private_metadata") or "{}")
        return str(where["team"]), str(where["channel"])
    except (ValueError, KeyError, TypeError):
        return "", ""


def register(
    app: AsyncApp,
    *,
    channels: ChannelSettings,
    default_model: str,
    command: str,
    policy: ConfigPolicy | None = None,
    mcp_servers: Sequence[str] = (),
) -> None:
    """Attach the slash command and its modal's submission handler to `app`."""
    rules = policy or ConfigPolicy()

    @app.command(command)
    async def open_config(ack: Any, body: dict[str, Any], client: Any) -> None:
        team_id, channel_id = body.get("team_id", ""), body.get("channel_id", "")
        user_id = body.get("user_id", "")
        await ack()  # the access lists were checked before (bot.slack_app.access_middleware)
        try:
            config = await channels.get(team_id, channel_id)
        except StorageUnavailable:
            config = ChannelConfig()
        reason = await rules.edit_refusal(client, team_id, user_id)
        if reason is not None:
            view = build_summary(config, channel_id=channel_id, reason=reason)
        else:
            view = build_view(
                config,
                team_id=team_id,
                channel_id=channel_id,
                default_model=default_model,
                allowed_models=rules.allowed_models,
                mcp_servers=mcp_servers,
            )
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(CALLBACK_ID)
    async def save_config(
        ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any
    ) -> None:
        user = body.get("user") or {}
        user_id = user.get("id", "")
        config, errors = parse_submission(view, user_id, mcp_servers)
        if not rules.model_allowed(config.model):
            errors["model"] = texts.CONFIG_BAD_MODEL
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        team_id, channel_id = submitted_channel(view)
        if not channel_id:
            await ack(response_action="errors", errors={"preset": texts.CONFIG_LOST_CHANNEL})
            return
        refused = await rules.edit_refusal(client, team_id, user_id, user_team=user.get("team_id"))
        if refused is not None:
            logger.info("a settings submission for %s was refused", channel_id)
            await ack(response_action="errors", errors={"preset": refused})
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
                    reasoning_effort=config.reasoning_effort,
                ),
            )
        except Exception:  # noqa: BLE001 - the settings are saved; the notice is a courtesy
            logger.warning("could not confirm the new settings of %s", channel_id)
