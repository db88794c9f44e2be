"""The workspace edit budget on an injected clock: fair share, coalescing, finals first, 429s."""

from __future__ import annotations

import asyncio

from bot.slack.budget import EditBudget, Lease, Limit
from bot.slack.reply.update import ReplyTarget, StreamingReply
from bot.testing.clock import FakeClock
from bot.testing.writer import RecordingWriter

UPDATE = "chat.update"


def budget(clock: FakeClock, per_minute: float = 60, burst: int = 1, **kw) -> EditBudget:
    return EditBudget({UPDATE: Limit(per_minute, burst)}, clock=clock, **kw)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def run_for(clock: FakeClock, seconds: float, step: float = 0.05) -> None:
    """Advance virtual time in small steps, so chains of wake-ups all get to run."""
    for _ in range(round(seconds / step)):
        await clock.advance(step)


async def keep_asking(lease: Lease, name: str, clock: FakeClock, log: list) -> None:
    """Ask again as soon as the previous grant came, like a reply with text always pending."""
    while True:
        await lease.acquire()
        log.append((clock.now(), name))


async def test_waiting_replies_share_the_budget_in_turn() -> None:
    clock = FakeClock(start=0)
    edits = budget(clock, per_minute=60, burst=1)
    log: list[tuple[float, str]] = []
    await edits.lease("T1", UPDATE).acquire()  # the bucket starts empty: everyone waits
    leases = {name: edits.lease("T1", UPDATE) for name in "abc"}
    tasks = [asyncio.create_task(keep_asking(lease, n, clock, log)) for n, lease in leases.items()]
    await settle()
    await run_for(clock, 9.5)
    names = [name for _, name in log]
    assert names == list("abcabcabc"), log  # one token a second, handed round in turn
    assert [t for t, _ in log] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    # Two replies finish: the one left gets the whole budget, its interval shrinks to 1 s.
    for name in "ab":
        leases[name].close()
    for task in tasks[:2]:
        task.cancel()
    log.clear()
    await run_for(clock, 4)
    assert [name for _, name in log] == ["c"] * 4, log
    tasks[2].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_final_edit_goes_ahead_of_intermediate_ones() -> None:
    clock = FakeClock(start=0)
    edits = budget(clock, per_minute=60, burst=1)
    order: list[str] = []

    async def ask(name: str, final: bool = False) -> None:
        await edits.lease("T1", UPDATE).acquire(final=final)
        order.append(name)

    await ask("first")  # takes the only token
    waiting = [asyncio.create_task(ask(n)) for n in ("a", "b", "c")]
    await settle()
    waiting.append(asyncio.create_task(ask("final", final=True)))
    await settle()
    await run_for(clock, 4.5)
    assert order == ["first", "final", "a", "b", "c"]
    await asyncio.gather(*waiting)


async def test_finish_promotes_a_request_already_waiting() -> None:
    clock = FakeClock(start=0)
    edits = budget(clock, per_minute=60, burst=1)
    order: list[str] = []
    await edits.lease("T1", UPDATE).acquire()
    leases = {n: edits.lease("T1", UPDATE) for n in ("a", "b", "c")}

    async def ask(name: str) -> None:
        await leases[name].acquire()
        order.append(name)

    tasks = [asyncio.create_task(ask(n)) for n in leases]
    await settle()
    leases["c"].promote()  # the reply finished while it waited for an intermediate edit
    await run_for(clock, 4.5)
    assert order == ["c", "a", "b"]
    await asyncio.gather(*tasks)


async def test_429_pause_stops_the_method_for_the_whole_workspace() -> None:
    clock = FakeClock(start=0)
    paused_until = {("T1", UPDATE): 10.0}

    def paused_for(team: str, method: str) -> float:
        return max(0.0, paused_until.get((team, method), 0.0) - clock.now())

    edits = budget(clock, per_minute=60, burst=5, paused_for=paused_for)
    log: list[tuple[float, str]] = []
    tasks = [
        asyncio.create_task(keep_asking(edits.lease(team, UPDATE), f"{team}-{n}", clock, log))
        for team, n in (("T1", 0), ("T2", 0), ("T2", 1))
    ]
    await settle()
    await run_for(clock, 9.9)
    assert {name.split("-")[0] for _, name in log} == {"T2"}, "T1 waits; T2 is not affected"
    t2_calls = len(log)
    await run_for(clock, 1.2)
    t1 = [(t, name) for t, name in log if name.startswith("T1")]
    # After the pause T1 starts from an empty bucket: one call a second, not a burst of 5.
    assert [t for t, _ in t1] == [11.0], t1
    assert edits.stats()[("T1", UPDATE)].paused == 1
    assert len(log) > t2_calls
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_method_without_a_limit_is_not_paced() -> None:
    clock = FakeClock(start=0)
    edits = budget(clock, per_minute=1, burst=1)
    lease = edits.lease("T1", "chat.postMessage")
    for _ in range(50):
        await lease.acquire()
    assert edits.stats() == {}


async def test_closing_the_budget_releases_waiting_replies() -> None:
    clock = FakeClock(start=0)
    edits = budget(clock, per_minute=1, burst=1)
    await edits.lease("T1", UPDATE).acquire()
    waiter = asyncio.create_task(edits.lease("T1", UPDATE).acquire())
    await settle()
    assert not waiter.done()
    await edits.close()
    await asyncio.wait_for(waiter, 1)


def reply(clock: FakeClock, writer: RecordingWriter, edits: EditBudget, n: int) -> StreamingReply:
    return StreamingReply(
        writer=writer,
        target=ReplyTarget("T1", f"C{n}", "1.0"),
        interval=0.2,
        clock=clock,
        budget=edits,
    )


async def test_a_reply_that_waited_sends_only_its_newest_text() -> None:
    clock = FakeClock(start=0)
    writer = RecordingWriter(clock)
    edits = budget(clock, per_minute=6, burst=1)  # one edit every 10 s
    r = reply(clock, writer, edits, 1)
    await r.start()
    r.update("one")
    await settle()
    for text in ("one two", "one two three", "one two three four"):
        await clock.advance(1)
        r.update(text)
    await clock.advance(10)
    assert [text for _, text in writer.updates()] == ["one", "one two three four"]
    await clock.run(r.finish("one two three four."))
    assert writer.updates()[-1][1] == "one two three four."


async def test_many_replies_stay_within_the_workspace_budget() -> None:
    clock = FakeClock(start=0)
    writer = RecordingWriter(clock, latency=0.05)
    edits = budget(clock, per_minute=45, burst=10)
    replies = [reply(clock, writer, edits, n) for n in range(12)]
    for r in replies:
        await clock.run(r.start())
    answers = [""] * len(replies)
    for step in range(300):  # 30 s of every reply growing every 100 ms
        for n, r in enumerate(replies):
            answers[n] += f"w{step} "
            r.update(answers[n])
        await clock.advance(0.1)
    await clock.run(
        asyncio.gather(*(r.finish(a + "end") for r, a in zip(replies, answers, strict=True)))
    )
    times = [t for t, _ in writer.updates()]
    for start in times:  # no 60 s window holds more than the burst plus a minute's rate
        assert sum(1 for t in times if start <= t < start + 60) <= 10 + 45
    by_channel: dict[str, list[str]] = {}
    for _, method, args in writer.calls:
        if method == UPDATE:
            by_channel.setdefault(args["channel"], []).append(args["markdown_text"])
    for n, answer in enumerate(answers):
        shown = by_channel[f"C{n}"]
        assert shown[-1] == answer + "end"
        assert len(shown) >= 2, f"reply {n} was never edited while it streamed"
    assert edits.stats()[("T1", UPDATE)].active == 0


async def test_streaming_replies_leave_room_for_final_edits() -> None:
    clock = FakeClock(start=0)
    edits = budget(clock, per_minute=60, burst=10)
    log: list[tuple[float, str]] = []
    tasks = [
        asyncio.create_task(keep_asking(edits.lease("T1", UPDATE), str(n), clock, log))
        for n in range(6)
    ]
    await settle()
    await run_for(clock, 5)
    assert len(log) < 10 + 5, "intermediate edits did not keep a reserve"
    finishing = [edits.lease("T1", UPDATE) for _ in range(3)]
    asked_at = clock.now()
    for lease in finishing:
        await lease.acquire(final=True)  # three answers end at once: none waits
    assert clock.now() == asked_at
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_replys_first_edit_goes_ahead_of_the_others_next_ones() -> None:
    clock = FakeClock(start=0)
    edits = budget(clock, per_minute=60, burst=1)
    old = [edits.lease("T1", UPDATE) for _ in range(3)]
    for lease in old:
        lease.granted = 1  # these replies already replaced their placeholder
    order: list[str] = []

    async def ask(lease: Lease, name: str) -> None:
        await lease.acquire()
        order.append(name)

    await edits.lease("T1", UPDATE).acquire()  # the bucket is empty now
    tasks = [asyncio.create_task(ask(lease, f"old{n}")) for n, lease in enumerate(old)]
    await settle()
    tasks.append(asyncio.create_task(ask(edits.lease("T1", UPDATE), "new")))
    await settle()
    await run_for(clock, 4.5)
    assert order == ["new", "old0", "old1", "old2"]
    await asyncio.gather(*tasks)
