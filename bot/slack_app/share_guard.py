"""Before a private summary is posted in a thread: may what its tools read go there?

A summary is written in the asker's DM, where tools may read private conversations (their
content may go to the asker's own DM). Posting it in the thread it summarises moves it to
a new destination, so every conversation its tools read is checked again with the same
rule (`bot.tools.sharing`), the thread as destination. Tools whose sources cannot be told
from their arguments (MCP servers, installed tools) may have read anything: a summary that
used one stays private.
"""

from __future__ import annotations

import json
import logging

from bot import texts
from bot.db.records import StoredMessage
from bot.tools.registry import ToolContext, ToolError
from bot.tools.slack_reader import check_may_share, parse_permalink

logger = logging.getLogger(__name__)

READS_NOTHING_PRIVATE = frozenset({"current_datetime", "current_user", "current_channel"})


def sources_read(rows: list[StoredMessage], dm: str) -> set[str] | None:
    """Return the conversations the summary's tool calls read (None: some cannot be told)."""
    sources: set[str] = set()
    for row in rows:
        for call in row.tool_calls or ():
            function = call.get("function") or {}
            name = str(function.get("name") or "")
            try:
                args = json.loads(function.get("arguments") or "{}")
            except ValueError:
                args = {}
            args = args if isinstance(args, dict) else {}
            if name in READS_NOTHING_PRIVATE:
                continue
            if name == "read_slack_message":
                try:
                    sources.add(parse_permalink(str(args.get("permalink") or "")).channel)
                except ToolError:
                    continue  # not a link: the tool read nothing
            elif name == "summarize_channel":
                value = str(args.get("channel") or "").strip().strip("<>#").split("|")[0]
                sources.add(value or dm)  # empty: the conversation it ran in, the DM
            else:
                return None
    return sources


async def share_refusal(ctx: ToolContext, rows: list[StoredMessage], dm: str) -> str | None:
    """Return why the summary may not go to `ctx`'s thread, or None when it may."""
    sources = sources_read(rows, dm)
    if sources is None:
        return texts.POST_SUMMARY_UNCHECKED
    for source in sorted(sources):
        try:
            await check_may_share(ctx, source)
        except ToolError as exc:
            logger.info("summary not posted in %s: it read %s (%s)", ctx.channel_id, source, exc)
            return texts.POST_SUMMARY_PRIVATE
    return None
