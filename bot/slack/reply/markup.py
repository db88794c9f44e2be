"""What a reply message carries: its Markdown, a Stop button while it streams, feedback when done.

`markdown_text` cannot be combined with `blocks`, so a message that needs a button is sent as
a `markdown` block (the same standard-Markdown renderer, same 12,000-character budget) plus
the button block and a plain `text` fallback for notifications.

Once a message carries blocks, every later edit of it sets `blocks` explicitly (the Markdown
block, and the buttons or none): `chat.update` keeps a message's previous blocks unless
`blocks` or `text` is given, and what it does with `markdown_text` alone is not documented.
So with buttons on, every state (an earlier part of a long answer, a failed or stopped answer)
is sent as blocks, and the result is the same whichever way Slack reads it. With buttons off
no message ever has blocks and `markdown_text` is used throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot import texts
from bot.slack.reply.format import to_slack

STOP_ACTION = "stop_reply"
FEEDBACK_ACTION = "reply_feedback"
FALLBACK_CHARS = 3000  # chat.update rejects a `text` near 4,000 characters

MessageState = Literal["streaming", "closed", "final"]


@dataclass(slots=True)
class ReplyMarkup:
    """Render one message of a reply for its state; set `feedback_id` before the final edit."""

    stop_value: str | None = None
    feedback_id: int | None = None

    def content(self, text: str, state: MessageState, *, stop: bool = True) -> dict[str, Any]:
        """Return the chat.postMessage/chat.update content arguments for `text` (a streaming
        message without its Stop button when `stop` is off)."""
        body = to_slack(text, partial=state == "streaming")
        if not body.strip():  # a lone `**` dropped while streaming: Slack refuses no text
            body = texts.PLACEHOLDER
        extra: list[dict[str, Any]] = []
        if state == "streaming" and self.stop_value and stop:
            extra.append(stop_block(self.stop_value))
        if state == "final" and self.feedback_id is not None:
            extra.append(feedback_block(self.feedback_id))
        if not self.buttons:
            return {"markdown_text": body}
        return blocks_content(body, extra)

    @property
    def buttons(self) -> bool:
        """Tell whether this reply's messages carry blocks (buttons are on)."""
        return self.stop_value is not None


def blocks_content(body: str, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Return content that sets a message's blocks explicitly: `body` as Markdown, then `extra`."""
    return {"blocks": [markdown_block(body), *(extra or ())], "text": fallback_text(body)}


def markdown_block(text: str) -> dict[str, Any]:
    """Return a `markdown` block (standard Markdown, rendered by Slack)."""
    return {"type": "markdown", "text": text}


def stop_block(value: str) -> dict[str, Any]:
    """Return the actions block with the Stop button; `value` names the turn."""
    button = {
        "type": "button",
        "action_id": STOP_ACTION,
        "text": {"type": "plain_text", "text": texts.STOP_BUTTON},
        "style": "danger",
        "value": value,
    }
    return {"type": "actions", "elements": [button]}


def feedback_block(message_id: int) -> dict[str, Any]:
    """Return Slack's AI feedback buttons (thumbs up/down) for a stored answer."""

    def button(label: str, accessible: str, rating: str) -> dict[str, Any]:
        return {
            "text": {"type": "plain_text", "text": label},
            "accessibility_label": accessible,
            "value": f"{rating}:{message_id}",
        }

    element = {
        "type": "feedback_buttons",
        "action_id": FEEDBACK_ACTION,
        "positive_button": button(texts.FEEDBACK_GOOD, texts.FEEDBACK_GOOD_LABEL, "good"),
        "negative_button": button(texts.FEEDBACK_BAD, texts.FEEDBACK_BAD_LABEL, "bad"),
    }
    return {"type": "context_actions", "elements": [element]}


def parse_feedback(value: str) -> tuple[str, int] | None:
    """Return (rating, message id) from a feedback button value, None when malformed."""
    rating, _, ident = (value or "").partition(":")
    if rating not in ("good", "bad") or not ident.isdigit():
        return None
    return rating, int(ident)


def fallback_text(markdown: str) -> str:
    """Return the notification text for a message shown through blocks."""
    if len(markdown) <= FALLBACK_CHARS:
        return markdown
    return markdown[: FALLBACK_CHARS - 1] + "…"


def action_ids(message: dict[str, Any]) -> set[str]:
    """Return the `action_id`s of the buttons a message shows (Stop, feedback)."""
    return {
        str(item.get("action_id"))
        for block in message.get("blocks") or ()
        for item in block.get("elements") or ()
        if isinstance(item, dict) and item.get("action_id")
    }


def markdown_of(message: dict[str, Any]) -> str:
    """Return the Markdown a message shows, whichever way it was sent.

    Slack renders a message's blocks when it has any, so a `markdown` block wins over
    `markdown_text` (a message can hold both after an edit that kept its blocks).
    """
    for block in message.get("blocks") or ():
        if isinstance(block, dict) and block.get("type") == "markdown":
            return str(block.get("text", ""))
    if message.get("markdown_text"):
        return str(message["markdown_text"])
    return str(message.get("text") or "")
