"""Crash recovery and replica ownership, in process: open claims, conditional writes, heartbeats."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest

from bot import texts
from bot.db.engine import create_engine
from bot.db.migrate import upgrade_async
from bot.db.records import NewMessage, ThreadKey
from bot.db.replicas import ReplicaRegistry
from bot.db.store import Store
from bot.slack.reply.markup import STOP_ACTION, blocks_content, stop_block
from bot.testing.clock import FakeClock
from bot.testing.harness import Harness, next_ts, text_of
from bot.testing.interactive import element
from bot.testing.openai import text_reply


async def test_placeholder_posted_but_never_noted_is_found_by_its_stop_button(
    harness: Harness,
) -> None:
    bot = await harness.start()
    asked = bot.slack.add_message("C1", "<@UBOT> hi", "U1", ts=next_ts())
    client = bot.runtime.client  # type: ignore[union-attr]
    # What a process that died right after posting its placeholder leaves: the placeholder
    # (its Stop button names the asked message) and an open claim without its ts.
    content = blocks_content(texts.PLACEHOLDER, [stop_block(asked)])
    posted = await client.chat_postMessage(channel="C1", thread_ts=asked, **content)
    store = bot.runtime.bot.store  # type: ignore[union-attr]
    assert await store.claim("T1", "C1", asked, "Ev1", thread_ts=asked, settled=False)
    await bot.restart()  # the same replica id: its open claims are its own leftovers
    message = bot.slack.message("C1", posted["ts"])
    assert message is not None and text_of(message) == texts.NOT_ANSWERED
    assert element(message, STOP_ACTION) is None
    assert len([m for m in bot.slack.replies("C1", asked) if m.get("bot_id")]) == 1


async def test_a_taken_over_reply_is_no_longer_written_by_its_old_owner(
    database_url: str,
) -> None:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    try:
        owner = Store(engine, owner="replica-a")
        [row] = await owner.append(
            ThreadKey("T1", "C1", "1.0"), [NewMessage("assistant", "", status="streaming")]
        )
        assert await owner.set_reply(row, content="so far")
        clock = FakeClock()
        other = ReplicaRegistry(engine, "replica-b", stale_after=30, clock=clock)
        late = ReplicaRegistry(engine, "replica-c", stale_after=30, clock=clock)
        await other.beat()
        await late.beat()
        assert not await other.orphaned_replies(), "judges nobody before beating 30 s itself"
        await clock.advance(30)
        [orphan] = await other.orphaned_replies()  # replica-a never beat: gone
        [seen_by_late] = await late.orphaned_replies()
        assert await other.take_over(orphan)
        assert not await late.take_over(seen_by_late), "taken once, by one replica"
        assert not await owner.set_reply(row, content="flipped back", status="complete")
        [kept] = await other.orphaned_replies() or [None]
        assert kept is None, "finished: nobody's orphan any more"
        taker = Store(engine, owner="replica-b")
        history = await taker.history(ThreadKey("T1", "C1", "1.0"), limit=5)
        assert [(m.content, m.status) for m in history] == [("so far", "interrupted")]
    finally:
        await engine.dispose()


async def test_heartbeats_do_not_wait_for_the_turns_connection_pool(harness: Harness) -> None:
    bot = await harness.start()
    runtime = bot.runtime
    assert runtime is not None
    pool = runtime.engine.pool
    held = pool.size() + getattr(pool, "_max_overflow", 0)
    async with AsyncExitStack() as stack:
        for _ in range(held):  # every connection turns could use is busy
            await stack.enter_async_context(runtime.engine.connect())
        await asyncio.wait_for(runtime.replicas.beat(), timeout=5)


@pytest.mark.stop_button_may_remain  # the simulated new owner never goes on with it
async def test_owner_that_lost_its_reply_stops_writing_it(harness: Harness) -> None:
    """A replica that only looked dead: once its reply was taken over, it ends it as marked.

    Until its next progress save it cannot know; from then on it writes nothing to the
    row and stops quietly: no edit of the message the new owner goes on with.
    """
    bot = await harness.start()
    bot.llm.script(text_reply("word " * 300, delay=0.02))  # about 6 s
    event = await bot.mention("a long one")

    def showing() -> list[dict]:
        return [m for m in bot.slack.replies("C1", event["ts"]) if m.get("bot_id")]

    await bot.slack.wait_for(lambda: bool(showing()) and text_of(showing()[0]).startswith("word"))
    # What another replica's recovery does: take the row over, mark the message.
    engine = create_engine(bot.database_url)
    try:
        other = ReplicaRegistry(engine, "replica-z", stale_after=-1)  # everyone looks stale
        await other.beat()
        [orphan] = [r for r in await other.orphaned_replies() if r.slack_ts == showing()[0]["ts"]]
        assert await other.take_over(orphan)
        await bot.llm.wait_for(lambda: bot.llm.disconnects >= 1, timeout=10)
        await bot.slack.wait_for(lambda: not bot.runtime.bot.tasks)  # type: ignore[union-attr]
        [message] = showing()
        shown = text_of(message)
        assert shown.startswith("word") and shown.count("word") < 300
        assert texts.INTERRUPTED.strip() not in shown, "no ending of its own: quietly"
        assert element(message, STOP_ACTION) is not None, "left as it was, for the new owner"
        store = Store(engine, owner="replica-z")
        rows = await store.history(ThreadKey("T1", "C1", event["ts"]), limit=5)
        assert [m.status for m in rows if m.role == "assistant"] == ["interrupted"]
        assert await store.set_reply(rows[-1].id, content="the new owner writes")
    finally:
        await engine.dispose()


async def test_parts_saved_by_an_earlier_tool_round_lead_recovery_to_the_last_message(
    harness: Harness,
) -> None:
    bot = await harness.start(slack_message_max_chars=300)
    asked = bot.slack.add_message("C1", "<@UBOT> long, with tools", "U1", ts=next_ts())
    client = bot.runtime.client  # type: ignore[union-attr]
    first_text, rest = "a " * 120, "b " * 40
    first = await client.chat_postMessage(
        channel="C1", thread_ts=asked, **blocks_content(first_text.strip())
    )
    second = await client.chat_postMessage(
        channel="C1", thread_ts=asked, **blocks_content(rest.strip(), [stop_block(asked)])
    )
    # Round one (saved its parts, then ran a tool); round two streams and was never saved.
    store = bot.runtime.bot.store  # type: ignore[union-attr]
    key = ThreadKey("T1", "C1", asked)
    call = {"id": "c1", "type": "function", "function": {"name": "t", "arguments": "{}"}}
    round_one, round_two = await store.append(
        key,
        [
            NewMessage("assistant", first_text + rest, slack_ts=first["ts"], status="streaming"),
            NewMessage("assistant", "", slack_ts=first["ts"], status="streaming"),
        ],
    )
    parts = [[first["ts"], 0, ""], [second["ts"], len(first_text), ""]]
    await store.set_reply(round_one, status="complete", tool_calls=[call], parts=parts)
    await bot.restart()
    ended = bot.slack.message("C1", second["ts"])
    assert ended is not None and element(ended, STOP_ACTION) is None
    assert text_of(ended) == (rest + texts.INTERRUPTED).strip()
    assert text_of(bot.slack.message("C1", first["ts"]) or {}) == first_text.strip()
