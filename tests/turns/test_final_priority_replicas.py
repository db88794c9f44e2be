"""Issue 28, finding 6, through two real replicas sharing Redis's edit budget.

With Redis, a replica's intermediate edits queue for the shared bucket one at a time; the
final edit of an answer that ended must not queue behind them (it won its local turn as a
final already). Two replicas are needed: on one, the local budget paces the edits at the
bucket's own rate, so no queue forms.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.slack.reply.markup import STOP_ACTION
from bot.testing.cluster import Cluster, running_cluster
from bot.testing.harness import channel_message, text_of
from bot.testing.interactive import element
from bot.testing.openai import text_reply

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    async with running_cluster(
        tmp_path_factory.mktemp("final-priority"),
        EDIT_BUDGET_PER_MINUTE="120",  # two edits a second for the workspace, shared
        EDIT_BUDGET_BURST="1",
        STREAM_IDLE_TIMEOUT="60",
    ) as found:
        yield found


async def test_a_final_edit_goes_before_the_queued_intermediate_ones(cluster: Cluster) -> None:
    a, b = cluster.replicas
    long = " ".join(f"w{i}" for i in range(200))
    end = asyncio.Event()
    answers: dict[str, Any] = {f"C{n}": text_reply(long, delay=0.1) for n in range(1, 9)}
    answers["C9"] = text_reply("Short answer here.", hold=end, hold_at=4)  # before its end
    cluster.llm.responder = lambda body: answers[body["messages"][-1]["content"].split("|")[0]]
    for n, channel in enumerate(answers):
        event = channel_message(f"<@UBOT> {channel}|go", channel=channel)
        await cluster.send(
            a if n % 2 == 0 else b, {**event, "type": "app_mention"}, event_id=f"Ev{n}"
        )
    await cluster.wait(lambda: len(cluster.llm.requests) == 9, "nine answers started")
    await asyncio.sleep(3)  # the long ones queue intermediate edits on both replicas
    [short] = cluster.slack.bot_messages("C9")

    def others() -> int:
        return len(
            [c for c in cluster.slack.calls_to("chat.update") if c.args.get("ts") != short["ts"]]
        )

    before = others()
    end.set()

    def final() -> bool:
        [message] = cluster.slack.bot_messages("C9")
        return text_of(message) == "Short answer here." and element(message, STOP_ACTION) is None

    await cluster.wait(final, "the short answer's final edit", timeout=30)
    # Without the priority it queued behind every waiting intermediate edit (four or more).
    assert others() - before <= 2, others() - before
