"""One person's burst against another person's single question (issue 22, finding 3).

python -m bench.fair_share [BURST]

Runs the real bot (in process) against the fake Slack, which enforces Tier 3 on
`chat.update`, and the fake model: user B's question alone, then BURST (30) questions from user
A at once followed by B's one question. Answers are 200 words, one every 30 ms (about 6 s).
Prints B's time to a whole answer in both runs and the target (twice alone plus 3 s).
Default settings otherwise (edit budget 45 a minute, bursts of 20; SLACK_UPDATE_INTERVAL 1 s).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bot.testing.harness import Harness, text_of
from bot.testing.openai import FakeOpenAI, Reply, text_reply
from bot.testing.slack import FakeSlack

ANSWER = " ".join(f"word{i}" for i in range(200))


async def b_whole_after(burst: int) -> float:
    """Return seconds from B's question to B's whole answer, after `burst` questions of A."""
    async with FakeSlack() as slack, FakeOpenAI() as llm:
        slack.set_rate_limit("chat.update", per_minute=100, burst=30)  # Slack's Tier 3
        llm.responder = lambda body: answer()
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bot.db'}"
            bot = Harness(slack=slack, llm=llm, database_url=url)
            await bot.start(slack_update_interval=1.0, stream_idle_timeout=30, turn_deadline=600)
            try:
                await asyncio.gather(*(bot.mention(f"A asks {n}", user="UA") for n in range(burst)))
                started = time.monotonic()
                event = await bot.mention("B asks", user="UB")

                def whole() -> bool:
                    bots = [m for m in slack.replies("C1", event["ts"]) if m.get("bot_id")]
                    return bool(bots) and text_of(bots[0]) == ANSWER

                await slack.wait_for(whole, timeout=600, what="B's whole answer")
                return time.monotonic() - started
            finally:
                await bot.close()


def answer() -> Reply:
    return text_reply(ANSWER, delay=0.03)


def main(argv: list[str]) -> int:
    burst = int(argv[0]) if argv else 30
    alone = asyncio.run(b_whole_after(0))
    crowded = asyncio.run(b_whole_after(burst))
    target = 2 * alone + 3
    verdict = "within" if crowded <= target else "OVER"
    print(
        f"B alone {alone:.1f} s; after {burst} questions of A {crowded:.1f} s "
        f"({verdict} the target {target:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
