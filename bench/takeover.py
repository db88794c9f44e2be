"""A replica dies mid-answer: how soon its answers grow again on the survivor, and how many end whole.

python -m bench.takeover [ANSWERS] [REPLICA_STALE_AFTER]

Starts two replicas on PostgreSQL and Redis (`bot/testing/cluster.py`, HEARTBEAT_INTERVAL 0.5 s),
streams ANSWERS (default 8) long answers on replica a (300 words each, about 9 s), SIGKILLs
it once every answer has a progress save, and reports per answer the seconds from the kill to
the survivor's first edit that shows more than the message showed at the kill, and the share
of the interrupted answers that end whole: the full text exactly once, no Stop button.
Needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379, as the tests do.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.llm.client import RESUME_INSTRUCTION
from bot.slack.reply.markup import STOP_ACTION
from bot.testing.cluster import Cluster, run_cluster
from bot.testing.harness import channel_message, text_of
from bot.testing.interactive import element
from bot.testing.openai import text_reply


def words(count: int, tag: str) -> str:
    return " ".join(f"{tag}w{i}" for i in range(count))


async def until_saved(cluster: Cluster, channels: list[str]) -> None:
    """Wait until every answer has a progress save (what a takeover resumes from)."""
    for _ in range(600):
        rows = await cluster.rows(
            "SELECT channel_id FROM messages WHERE role = 'assistant' AND content <> ''"
        )
        if {r[0] for r in rows} >= set(channels):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the answers were never saved")


async def measure(answers: int, stale_after: float) -> dict[str, Any]:
    channels = [f"CB{i:03d}" for i in range(answers)]
    full = {c: words(300, c) for c in channels}

    def respond(body: dict) -> Any:
        channel = next(m["content"].split()[-1] for m in body["messages"] if m["role"] == "user")
        if body["messages"][-1]["content"] == RESUME_INSTRUCTION:
            return text_reply(full[channel], pieces=40, delay=0.01)
        return text_reply(full[channel], pieces=8, delay=0.05)

    with tempfile.TemporaryDirectory() as tmp:
        async with run_cluster(
            Path(tmp),
            ("replica-a", "replica-b"),
            REPLICA_STALE_AFTER=str(stale_after),
            HEARTBEAT_INTERVAL="0.5",
        ) as cluster:
            a, _ = cluster.replicas
            cluster.llm.responder = respond
            asked = {}
            for channel in channels:
                event = {
                    **channel_message(f"<@UBOT> {channel}", channel=channel),
                    "type": "app_mention",
                }
                asked[channel] = event["ts"]
                await cluster.send(a, event, event_id=f"Ev{channel}")
            await until_saved(cluster, channels)
            replies = {c: cluster.bot_replies(c, asked[c])[0] for c in channels}
            shown = {replies[c]["ts"]: len(text_of(replies[c])) for c in channels}
            killed = time.monotonic()
            a.kill()

            def whole(channel: str) -> bool:
                [reply] = cluster.bot_replies(channel, asked[channel]) or [{}]
                return text_of(reply) == full[channel] and element(reply, STOP_ACTION) is None

            try:
                await cluster.slack.wait_for(
                    lambda: all(whole(c) for c in channels), timeout=stale_after + 60
                )
            except AssertionError:
                pass  # reported below as answers not finished whole
            grown: dict[str, float] = {}
            for call in cluster.slack.calls:
                ts = call.args.get("ts")
                if call.method != "chat.update" or call.at < killed or ts not in shown:
                    continue
                if ts not in grown and len(text_of(call.args)) > shown[ts]:
                    grown[ts] = call.at - killed
            done = sum(whole(c) for c in channels)
    times = sorted(grown.values())
    return {
        "answers": answers,
        "stale_after": stale_after,
        "grown": len(times),
        "median": statistics.median(times) if times else None,
        "max": times[-1] if times else None,
        "whole": done,
    }


def main(argv: list[str]) -> int:
    answers = int(argv[0]) if argv else 8
    stale_after = float(argv[1]) if len(argv) > 1 else 3.0
    result = asyncio.run(measure(answers, stale_after))
    print(
        f"answers interrupted by the kill: {result['answers']}, REPLICA_STALE_AFTER "
        f"{stale_after:g} s\n"
        f"growing again on the survivor: {result['grown']}/{result['answers']}, "
        f"median {result['median']:.2f} s, max {result['max']:.2f} s after the kill\n"
        f"finished whole: {result['whole']}/{result['answers']}"
    )
    return 0 if result["whole"] == result["answers"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
