"""`app_home_opened`: suggested prompts on the Messages tab, a published view on the Home tab.

Under `agent_view` Slack sends `app_home_opened` for both tabs: `tab: "messages"` when the
user opens the DM with the bot (its suggested prompts are pinned there with
`assistant.threads.setSuggestedPrompts`, without a thread), `tab: "home"` for the Home tab
(`views.publish`). The Home view has a slot for the user's own recent usage, filled by an
optional `usage_summary` callable; without one, or when it has nothing, the slot is absent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import texts

logger = logging.getLogger(__name__)

# (team_id, user_id) -> Markdown about the user's recent usage, or None for nothing to show.
UsageSummary = Callable[[str, str], Awaitable[str | None]]


def _section(text: str, block_id: str) -> dict[str, Any]:
    return {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": text}}


def build_home(*, model: str, config_command: str, usage: str | None = None) -> dict[str, Any]:
    """Return the Home tab view: what the bot does, which model, settings, and usage if any."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": texts.HOME_TITLE}},
        _section(texts.HOME_ABOUT, "about"),
        {"type": "divider"},
        _section(texts.home_model(model), "model"),
        _section(texts.home_settings(config_command), "settings"),
    ]
    if usage:
        blocks += [{"type": "divider"}, _section(f"{texts.HOME_USAGE_TITLE}\n{usage}", "usage")]
    return {"type": "home", "blocks": blocks}


def suggested_prompts() -> list[dict[str, str]]:
    """Return the prompts offered in a new conversation (the manifest lists the same)."""
    return [{"title": title, "message": message} for title, message in texts.SUGGESTED_PROMPTS]


def register(
    app: AsyncApp,
    *,
    model: str,
    config_command: str = "",
    usage_summary: UsageSummary | None = None,
) -> None:
    """Attach the `app_home_opened` listener."""

    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], context: Any, client: Any) -> None:
        user_id = event.get("user") or context.user_id or ""
        try:
            if event.get("tab") == "messages":
                await client.assistant_threads_setSuggestedPrompts(
                    channel_id=event["channel"],
                    title=texts.MESSAGES_TAB_PROMPTS_TITLE,
                    prompts=suggested_prompts(),
                )
                return
            usage = None
            if usage_summary is not None:
                try:
                    usage = await usage_summary(context.team_id or "", user_id)
                except Exception as exc:  # noqa: BLE001 - the Home tab shows without it
                    logger.warning("usage summary failed (%s)", type(exc).__name__)
            view = build_home(model=model, config_command=config_command, usage=usage)
            await client.views_publish(user_id=user_id, view=view)
        except Exception as exc:  # noqa: BLE001 - an app built from the older manifest may refuse
            logger.warning("could not update the %s tab (%s)", event.get("tab"), exc)
