"""Markdown between the model and Slack, both ways.

Out: the model writes standard Markdown and Slack renders it (`markdown` block or
`markdown_text`), so bold, italics, links, lists, headings, quotes and code pass through
unchanged. What Slack does not do, or does differently, is fixed here, with markdown-it-py
finding the structure rather than regular expressions guessing it:

- tables are not reliably rendered: they become an aligned monospace code block;
- `<` starts a Slack token (`<@U1>`, `<!here>`, `<url|label>`): outside code it is escaped
  to `&lt;` unless it is a user mention or channel link, so the model can never ping
  `@channel` or hide where a link points, and `Vec<String>` does not vanish. mrkdwn links
  `<url|label>` become Markdown links. `&` is escaped only where it would read as an entity;
- while an answer streams, a dangling `**`, `~~` or backtick on the last paragraph is
  closed (or dropped) so a half-written word never shows literal markers.

In: Slack sends `&lt;`, `&gt;`, `&amp;` and its own `<...>` tokens; the model gets plain
text with mentions kept as `<@U1>` and links as Markdown.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.slack.mentions import defuse
from bot.slack.reply.links import expose_disguised, honest, reference_targets

_PARSER = MarkdownIt("commonmark").enable("table")  # inline parsing: table cells only
_BLOCKS = MarkdownIt("commonmark").enable("table")  # structure only: ~20x faster per edit
_BLOCKS.core.ruler.disable(["inline", "text_join"])
_CODE_BLOCKS = {"fence", "code_block"}

# Slack tokens that may stay live in the bot's answers: user mentions and channel links.
_KEEP_TOKEN = r"<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+)(?:\|[^<>\n]*)?>"
_MRKDWN_LINK = r"<(?P<url>(?:https?|mailto):[^\s<>|]+)(?:\|(?P<label>[^<>\n]+))?>"
_OUT = re.compile(
    rf"(?P<keep>{_KEEP_TOKEN})|(?P<link>{_MRKDWN_LINK})|(?P<lt><)|(?P<amp>&(?=#?\w+;))"
)
_BACKTICKS = re.compile(r"`+")
WIDE_TABLE = 120  # columns of a table rendered aligned; a wider one is rendered unpadded
_MARKERS = re.compile(r"\*\*|~~")


def to_slack(markdown: str, *, partial: bool = False) -> str:
    """Return `markdown` ready for Slack; `partial` for a view of an answer still streaming."""
    if not markdown:
        return markdown
    text, ends_in_prose = _convert(markdown)
    if partial and ends_in_prose:
        text = close_dangling(text)
    return defuse(text)  # broadcast tokens inside code, which is sent as written


# A flush of a streaming reply measures the message (does it still fit?), then renders the
# same text to send it: the conversion, a markdown-it parse of the whole message, is kept
# for the texts seen last instead of being done twice or three times per edit.
@functools.lru_cache(maxsize=256)
def _convert(markdown: str) -> tuple[str, bool]:
    """Return `markdown` converted for Slack and whether it ends in prose (not code/table)."""
    lines = markdown.split("\n")
    tokens = _BLOCKS.parse(markdown)
    kinds = _line_kinds(tokens, len(lines))
    refs = reference_targets(markdown)
    out: list[str] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        kind = kinds[i]
        if isinstance(kind, _Table):
            _flush(prose, out, refs)
            out.extend(kind.render())
            i = kind.end
            continue
        if kind == "code":
            _flush(prose, out, refs)
            out.append(lines[i])
        else:
            prose.append(lines[i])
        i += 1
    ends_in_prose = bool(prose)
    _flush(prose, out, refs)
    return "\n".join(out), ends_in_prose


def from_slack(text: str) -> str:
    """Return a Slack message text as the model should read it."""
    if not text:
        return text

    def token(match: re.Match[str]) -> str:
        body = match.group(1)
        target, _, label = body.partition("|")
        if target[:1] in ("@", "#"):
            return f"<{target}|{label}>" if target.startswith("#") and label else f"<{target}>"
        if target.startswith("!"):
            if label:
                return label
            name = target[1:].split("^", 1)[0]
            return f"@{name}"
        if label and label != target and label != target.removeprefix("mailto:"):
            return f"[{label}]({target})"
        return target.removeprefix("mailto:")

    converted = re.sub(r"<([^<>\n]+)>", token, text)
    return converted.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape_prose(text: str, refs: dict[str, str] | None = None) -> str:
    """Escape Slack control characters in Markdown text, leaving code spans as written."""
    out: list[str] = []
    for kind, segment in _code_spans(text):
        if kind == "code":
            out.append(segment)
        else:
            out.append(_OUT.sub(_escape_match, expose_disguised(segment, refs)))
    return "".join(out)


def close_dangling(text: str) -> str:
    """Close (or drop, when nothing follows it) an unfinished inline marker at the end."""
    start = text.rfind("\n\n") + 1
    head, tail = text[:start], text[start:]
    spans = _code_spans(tail)
    if spans and spans[-1][0] == "open":
        opener = _BACKTICKS.match(spans[-1][1]).group(0)  # type: ignore[union-attr]
        if not spans[-1][1][len(opener) :].strip():
            return close_dangling(head + tail[: len(tail) - len(spans[-1][1])].rstrip())
        return head + tail.rstrip() + opener
    openers: dict[str, int] = {}
    offset = 0
    for kind, segment in spans:
        if kind == "prose":
            for marker in _MARKERS.finditer(segment):
                key = marker.group(0)
                if key in openers:
                    del openers[key]
                else:
                    openers[key] = offset + marker.start()
        offset += len(segment)
    for key, at in sorted(openers.items(), key=lambda item: -item[1]):
        if not tail[at + len(key) :].strip():
            tail = tail[:at].rstrip()
        else:
            tail = tail.rstrip() + key
    return head + tail


def _escape_match(match: re.Match[str]) -> str:
    if match.group("keep"):
        return match.group("keep")
    if match.group("link"):
        url, label = match.group("url"), match.group("label")
        if label and label != url:
            return honest(label, url)
        return url.removeprefix("mailto:")
    if match.group("lt"):
        return "&lt;"
    return "&amp;"


def _code_spans(text: str) -> list[tuple[str, str]]:
    """Split text into prose, CommonMark code spans (n backticks close n) and an open span."""
    parts: list[tuple[str, str]] = []
    runs = [m for m in _BACKTICKS.finditer(text) if not _backslashed(text, m.start())]
    pos = 0
    i = 0
    while i < len(runs):
        opener = runs[i]
        closer = next(
            (j for j in range(i + 1, len(runs)) if len(runs[j].group(0)) == len(opener.group(0))),
            None,
        )
        if closer is None:
            i += 1
            continue
        parts.append(("prose", text[pos : opener.start()]))
        parts.append(("code", text[opener.start() : runs[closer].end()]))
        pos = runs[closer].end()
        i = closer + 1
    rest = text[pos:]
    dangling = next((m for m in runs if m.start() >= pos), None)
    if dangling is not None:
        parts.append(("prose", text[pos : dangling.start()]))
        rest = text[dangling.start() :]
        parts.append(("open", rest))
    else:
        parts.append(("prose", rest))
    return [p for p in parts if p[1]]


def _backslashed(text: str, index: int) -> bool:
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _flush(prose: list[str], out: list[str], refs: dict[str, str] | None = None) -> None:
    if prose:
        out.extend(escape_prose("\n".join(prose), refs).split("\n"))
        prose.clear()


class _Table:
    """A top-level Markdown table, rendered as an aligned code block."""

    def __init__(self, end: int, rows: list[list[str]], align: list[str]) -> None:
        self.end = end
        self.rows = rows
        self.align = align

    def render(self) -> list[str]:
        columns = max(len(row) for row in self.rows)
        rows = [[self._cell(c) for c in row] + [""] * (columns - len(row)) for row in self.rows]
        widths = [max(_width(row[c]) for row in rows) for c in range(columns)]
        if sum(widths) + 3 * (columns - 1) > WIDE_TABLE:
            # Too wide to read aligned (it wraps), and padding every row to the widest cell
            # can multiply its size past Slack's limits: cells as written, unpadded.
            header = [min(_width(cell), WIDE_TABLE // columns) or 1 for cell in rows[0]]
            plain = [" | ".join(row).rstrip() for row in rows]
            return ["```", plain[0], "-+-".join("-" * w for w in header), *plain[1:], "```"]
        lines = []
        for n, row in enumerate(rows):
            cells = [_pad(cell, widths[c], self._align(c)) for c, cell in enumerate(row)]
            lines.append(" | ".join(cells).rstrip())
            if n == 0:
                lines.append("-+-".join("-" * w for w in widths))
        return ["```", *lines, "```"]

    @staticmethod
    def _cell(text: str) -> str:
        """Keep a cell inside the code block: a backtick run could close it."""
        return text.replace("`", "\u02cb")

    def _align(self, column: int) -> str:
        return self.align[column] if column < len(self.align) else ""


def _line_kinds(tokens: list[Token], count: int) -> list[Any]:
    """Mark each source line as prose, code, or the first line of a table."""
    kinds: list[Any] = ["prose"] * count
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.type in _CODE_BLOCKS and token.map:
            for line in range(token.map[0], min(token.map[1], count)):
                kinds[line] = "code"
        elif token.type == "table_open" and token.level == 0 and token.map:
            rows, align, i = _table_rows(tokens, i)
            start, end = token.map[0], min(token.map[1], count)
            kinds[start] = _Table(end, rows, align)
            for line in range(start + 1, end):
                kinds[line] = "table"
            continue
        i += 1
    return kinds


def _table_rows(tokens: list[Token], i: int) -> tuple[list[list[str]], list[str], int]:
    rows: list[list[str]] = []
    align: list[str] = []
    i += 1
    while i < len(tokens) and tokens[i].type != "table_close":
        token = tokens[i]
        if token.type == "tr_open":
            rows.append([])
        elif token.type in ("th_open", "td_open"):
            style = str(token.attrs.get("style", ""))
            if token.type == "th_open":
                align.append(style.removeprefix("text-align:"))
        elif token.type == "inline" and rows:
            rows[-1].append(_plain(_PARSER.parseInline(token.content)[0]))
        i += 1
    return rows, align, i + 1


def _plain(inline: Token) -> str:
    """Return an inline token's text without Markdown markers (a code block shows none)."""
    parts: list[str] = []
    hrefs: list[str] = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "html_inline":
            parts.append(" " if re.match(r"<br\s*/?>", child.content, re.I) else child.content)
        elif child.type == "image":
            parts.append(child.content)
        elif child.type == "link_open":
            hrefs.append(str(child.attrs.get("href", "")))
            parts.append("\0")
        elif child.type == "link_close" and hrefs:
            href = hrefs.pop()
            start = len(parts) - 1 - parts[::-1].index("\0")
            label = "".join(parts[start + 1 :])
            parts[start:] = [label if label == href else f"{label} ({href})"]
    return "".join(parts).strip()


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, align: str) -> str:
    gap = width - _width(text)
    if align == "right":
        return " " * gap + text
    if align == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap
