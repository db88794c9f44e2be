"""What no test may leave in the fake Slack: a live Stop button, a block-less edit of blocks.

The test fixtures check both at teardown, so every scenario in the suite holds the bot to
the rule that a reply ends without its Stop button under either reading of `chat.update`.
"""

from __future__ import annotations

from typing import Any

from bot.slack.reply.markup import STOP_ACTION
from bot.testing.interactive import element
from bot.testing.slack import Call


def stale_stop_buttons(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the messages that still show a Stop button once nothing streams."""
    return [m for m in messages if element(m, STOP_ACTION) is not None]


def blockless_updates(calls: list[Call]) -> list[Call]:
    """Return the chat.update calls that edited a message carrying blocks without `blocks`.

    What Slack does then is not documented for `markdown_text` (its documentation says
    that without `blocks` the old ones stay unless `text` is given), so the bot never does.
    """
    carrying: set[tuple[str, str]] = set()
    found = []
    for call in calls:
        if call.status != 200 or not call.response.get("ok"):
            continue
        ts = call.args.get("ts") or call.response.get("ts")
        key = (str(call.args.get("channel")), str(ts))
        if call.method == "chat.update" and key in carrying and "blocks" not in call.args:
            found.append(call)
        if call.method in ("chat.postMessage", "chat.update", "chat.stopStream"):
            if call.args.get("blocks"):
                carrying.add(key)
            elif call.method == "chat.update" and "blocks" in call.args:
                carrying.discard(key)
    return found
