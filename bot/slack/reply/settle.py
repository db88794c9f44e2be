"""How much of a growing answer can be appended to a native stream for good.

A stream is append-only, but Slack formatting (`to_slack`) depends on what follows: a
table is rendered once its paragraph is complete, `<url|label>` and inline code read
differently once closed. So a stream shows whole words and holds back a table still being
written, an inline code span still open and a `<...>` token not yet closed. If the final
formatting still disagrees with what was streamed, the reply repairs the message with
`chat.update` (see `native.py`).
"""

from __future__ import annotations

import re

from bot.slack.reply.split import open_fence

_OPEN_TOKEN = re.compile(r"<[^\s<>][^<>\n]*\Z")
_TABLE_LINE = re.compile(r"^\s*\||\s\|\s", re.MULTILINE)


def settled(text: str, start: int = 0) -> int:
    """Return the end of the part of `text[start:]` that later text cannot reformat."""
    end = max(text.rfind(" ", start), text.rfind("\n", start)) + 1
    if end <= start:
        return start
    if open_fence(text[:end]) is not None:  # with the reopened fence before `start`
        return end  # inside a code block every line stays as written
    blank = text.rfind("\n\n", start, end)
    para = blank + 2 if blank >= 0 else start
    paragraph = text[para:end]
    if _TABLE_LINE.search(paragraph):
        return para
    if paragraph.count("`") % 2:
        return para + paragraph.rfind("`")
    token = _OPEN_TOKEN.search(paragraph)
    if token is not None:
        return para + token.start()
    return end
