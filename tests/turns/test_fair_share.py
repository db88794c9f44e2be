"""A fair share per person (issue 22, finding 3): one person's burst costs that person.

Through the real app; asserted on order and counts, never on times (bench/ has the figures).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from bot.testing.harness import Harness, text_of
from bot.testing.openai import Reply, text_reply

BURST = 30


def question_of(body: dict[str, Any]) -> str:
    return [m["content"] for m in body["messages"] if m["role"] == "user"][-1]


async def test_one_persons_burst_slows_everyone(harness: Harness) -> None:
    """30 questions from U1 wait for two slots; U2's question takes the next free one."""
    bot = await harness.start(
        max_concurrent_answers=2, stream_idle_timeout=30, edit_budget_per_minute=6000
    )
    gates = {n: asyncio.Event() for n in range(BURST)}

    def respond(body: dict[str, Any]) -> Reply:
        question = question_of(body)
        if "from U2" in question:
            return text_reply("U2 is answered.")
        n = int(re.search(r"\d+", question).group())  # type: ignore[union-attr]
        return text_reply(f"Answer {n}.", hold=gates[n], hold_at=1)

    bot.llm.responder = respond
    burst = [await bot.mention(f"question {n}", user="U1") for n in range(BURST)]
    dispatcher = bot.runtime.bot.dispatcher  # type: ignore[union-attr]
    await bot.slack.wait_for(
        lambda: dispatcher.admission.waiting == BURST - 2, what="the burst queued"
    )
    other = await bot.mention("a question from U2", user="U2")
    await bot.slack.wait_for(lambda: dispatcher.admission.waiting == BURST - 1, what="U2 queued")
    streaming = int(re.search(r"\d+", question_of(bot.llm.requests[0])).group())  # type: ignore[union-attr]
    gates[streaming].set()  # one of U1's answers ends: its slot goes to U2, not to U1's next
    await shows(bot, other["ts"], "U2 is answered.")
    asked = [question_of(body) for body in bot.llm.requests]
    assert asked.index("a question from U2") == 2, asked
    done = sum(1 for event in burst if _final(bot, event["ts"]))
    assert done <= 1, "U2 was answered while U1's burst still waited"
    for gate in gates.values():
        gate.set()
    for n, event in enumerate(burst):
        [reply] = await bot.wait_reply_done("C1", event["ts"], timeout=30)
        assert text_of(reply) == f"Answer {n}."


async def shows(bot: Harness, thread_ts: str, text: str) -> dict[str, Any]:
    """Wait until the bot's reply in the thread shows `text` (others may still stream)."""

    def replies() -> list[dict[str, Any]]:
        return [m for m in bot.slack.replies("C1", thread_ts) if m.get("bot_id")]

    await bot.slack.wait_for(
        lambda: bool(replies()) and text_of(replies()[0]) == text, timeout=30, what=text[:20]
    )
    return replies()[0]


def _final(bot: Harness, thread_ts: str) -> bool:
    bots = [m for m in bot.slack.replies("C1", thread_ts) if m.get("bot_id")]
    return bool(bots) and text_of(bots[0]).startswith("Answer")


async def test_the_edit_budget_serves_people_in_turn(harness: Harness) -> None:
    """While U1's ten replies stream, U2's reply gets about every other edit, not one in eleven."""
    bot = await harness.start(edit_budget_per_minute=300, edit_budget_burst=2)
    long = " ".join(f"w{i}" for i in range(120))  # ~6 s at 0.05 s a word
    short = " ".join(f"v{i}" for i in range(40))  # ~2 s

    def respond(body: dict[str, Any]) -> Reply:
        return text_reply(short if "from U2" in question_of(body) else long, delay=0.05)

    bot.llm.responder = respond
    burst = await asyncio.gather(*(bot.mention(f"U1 asks {n}", user="U1") for n in range(10)))
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("chat.update")) >= 10)
    other = await bot.mention("a question from U2", user="U2")
    reply = await shows(bot, other["ts"], short)
    mine = reply["ts"]
    updates = bot.slack.calls_to("chat.update")
    own = [i for i, call in enumerate(updates) if call.args["ts"] == mine]
    window = updates[own[0] : own[-1] + 1]
    theirs = sum(1 for call in window if call.args["ts"] != mine)
    assert len(own) >= 3, "U2's reply is edited while it streams"
    # Served person by person, U2 gets about every other grant; served reply by reply it
    # would get one in eleven (theirs ~ 10 x own).
    assert theirs <= 3 * len(own) + 3, (theirs, len(own))
    for event in burst:
        [done] = await bot.wait_reply_done("C1", event["ts"], timeout=30)
        assert text_of(done) == long
    unfinished = [c for c in updates[: own[-1]] if c.args["ts"] != mine]
    finals = {c.args["ts"] for c in unfinished if text_of(c.args) == long}
    assert len(finals) < 10, "U2's final edit came before U1's replies were all done"


async def test_a_per_person_cap_on_answers_streaming_at_once(harness: Harness) -> None:
    bot = await harness.start(max_concurrent_answers_per_user=2, stream_idle_timeout=30)
    gate = asyncio.Event()
    bot.llm.responder = lambda body: text_reply(f"Re: {question_of(body)}", hold=gate, hold_at=1)
    events = [await bot.mention(f"q{n}", user="U1") for n in range(5)]
    other = await bot.mention("from U2", user="U2")
    await bot.llm.wait_for(lambda: bot.llm.open_streams == 3)  # two of U1's, one of U2's
    dispatcher = bot.runtime.bot.dispatcher  # type: ignore[union-attr]
    await bot.slack.wait_for(lambda: dispatcher.admission.waiting == 3, what="U1's rest waits")
    asked = sorted(question_of(b) for b in bot.llm.requests)
    assert len(asked) == 3 and asked[0] == "from U2", asked  # and two of U1's five
    gate.set()
    for n, event in enumerate(events):
        [reply] = await bot.wait_reply_done("C1", event["ts"], timeout=20)
        assert text_of(reply) == f"Re: q{n}"
    [reply] = await bot.wait_reply_done("C1", other["ts"])
    assert text_of(reply) == "Re: from U2"
