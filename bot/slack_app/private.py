"""Answers only the asker sees: a turn whose reply goes to their DM with the bot.

A private answer opens with a short message from the bot in the DM (what was asked, with a
link to the source), and the turn streams in that message's thread like any other answer:
same claim, history, tools, Stop button and streaming mode. A follow-up in that DM thread
continues the conversation, with the source as context.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.slack.writer import Writer
from bot.turns.dispatcher import TurnRequest

logger = logging.getLogger(__name__)

Then = Callable[[str, str], Awaitable[None]]  # (DM channel, header ts), after the turn
Submit = Callable[..., Awaitable[None]]  # (TurnRequest, then=Then | None)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a shortcut was used: workspace, conversation, message and its thread."""

    team_id: str
    team_domain: str
    channel_id: str
    message_ts: str
    thread_ts: str  # the thread root: the message itself when it is not in a thread
    user_id: str  # who used the shortcut

    @classmethod
    def from_payload(cls, body: dict[str, Any]) -> Source:
        """Read a `message_action` payload (a message shortcut)."""
        message = body.get("message") or {}
        ts = str(message.get("ts") or body.get("message_ts") or "")
        team = body.get("team") or {}
        return cls(
            team_id=str(team.get("id") or body.get("team_id") or ""),
            team_domain=str(team.get("domain") or ""),
            channel_id=str((body.get("channel") or {}).get("id") or ""),
            message_ts=ts,
            thread_ts=str(message.get("thread_ts") or ts),
            user_id=str((body.get("user") or {}).get("id") or ""),
        )

    @property
    def permalink(self) -> str:
        """Return the message's link, built the way Slack builds permalinks."""
        if not self.team_domain or not self.message_ts:
            return ""
        link = (
            f"https://{self.team_domain}.slack.com/archives/{self.channel_id}/"
            f"p{self.message_ts.replace('.', '')}"
        )
        if self.thread_ts != self.message_ts:
            link += f"?thread_ts={self.thread_ts}&cid={self.channel_id}"
        return link


@dataclass
class PrivateAnswers:
    """Open the asker's DM, say things there, and start turns answered there."""

    writer: Writer
    client: Any
    submit: Submit

    async def dm(self, team_id: str, user_id: str) -> str:
        """Return the id of the bot's DM with `user_id` (conversations.open)."""
        response = await self.client.conversations_open(users=user_id)
        return str((response.get("channel") or {}).get("id") or "")

    async def say(self, team_id: str, channel: str, text: str, thread_ts: str = "") -> str:
        """Post `text` in `channel` (a DM); return the message ts."""
        args: dict[str, Any] = {"channel": channel, "markdown_text": text}
        if thread_ts:
            args["thread_ts"] = thread_ts
        response = await self.writer.call(team_id, "chat.postMessage", **args)
        return str(response["ts"]) if response is not None else ""

    async def tell(self, source: Source, text: str) -> None:
        """Tell the asker something privately, best effort."""
        try:
            await self.say(source.team_id, await self.dm(source.team_id, source.user_id), text)
        except Exception as exc:  # noqa: BLE001 - nowhere else to say it
            logger.warning("could not tell %s privately (%s)", source.user_id, type(exc).__name__)

    async def answer(
        self,
        source: Source,
        *,
        header: str,
        prompt: str,
        bot_user_id: str,
        then: Then | None = None,
    ) -> tuple[str, str]:
        """Post `header` in the asker's DM and answer `prompt` in its thread; return both ids."""
        channel = await self.dm(source.team_id, source.user_id)
        ts = await self.say(source.team_id, channel, header)
        request = TurnRequest(
            team_id=source.team_id,
            channel=channel,
            thread_ts=ts,
            message_ts=ts,
            user_id=source.user_id,
            text=prompt,
            bot_user_id=bot_user_id,
        )
        after = None if then is None else (lambda: then(channel, ts))
        await self.submit(request, then=after)  # the access lists checked the source
        return channel, ts
