"""Defuse Slack's broadcast tokens (`<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^…>`).

The model must never notify a whole channel or a user group. `bot.slack.reply.format`
escapes `<` in prose; code spans and blocks are sent as written, and Slack's documentation
does not say whether a token inside them is live, so this pass breaks the token itself:
its `!` becomes `ǃ` (U+01C3, which looks the same), so it is text under either reading. `SlackWriter` applies it to every string of every write as the last line of
defence, so no path (streaming, final, rollover, recovery, native chunks) can bypass it.
"""

from __future__ import annotations

import re
from typing import Any

LOOKALIKE = "\u01c3"  # ǃ, in place of the token's `!`
# `<` then `!channel`, `!here`, `!everyone` or `!subteam^`, any case, even with spaces or
# zero-width characters between them that a renderer might skip.
_BROADCAST = re.compile(
    r"(<[\s\u200b\u2060\ufeff]*)!(?=(?:channel|here|everyone|subteam\^))", re.IGNORECASE
)


def defuse(text: str) -> str:
    """Return `text` with every broadcast token broken (no-op when there is none)."""
    if "!" not in text or "<" not in text:
        return text
    return _BROADCAST.sub(r"\1" + LOOKALIKE, text)


def defuse_args(value: Any) -> Any:
    """Return a copy of Web API arguments with `defuse` applied to every string in them."""
    if isinstance(value, str):
        return defuse(value)
    if isinstance(value, dict):
        return {key: defuse_args(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [defuse_args(item) for item in value]
    return value
