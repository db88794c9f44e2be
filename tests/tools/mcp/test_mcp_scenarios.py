"""MCP servers' tools through the real app: real servers built with the SDK's server side.

The stdio server (tests/mcp_servers/kit.py) runs as the bot's child process; the Streamable
HTTP one (tests/mcp_servers/web.py) in its own process. The fake model calls SERVER__TOOL
and the tests read what reached its next request.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.testing.harness import Harness, text_of
from bot.testing.openai import text_reply, tool_call_reply
from bot.testing.toolchecks import results_by_name
from bot.tools import images as tool_images
from bot.tools.registry import TRUNCATED
from tests.tools.mcp.helpers import alive, kit, pids, web_server, write_servers


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: these tests are about MCP, not the database."""
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


async def ask(bot: Harness, question: str) -> str:
    event = await bot.mention(question)
    replies = await bot.wait_reply_done("C1", event["ts"])
    return text_of(replies[-1])


def tool_names(bot: Harness) -> set[str]:
    assert bot.runtime is not None
    return {tool.name for tool in bot.runtime.mcp.tools()}


async def metrics(bot: Harness) -> str:
    return await bot.scrape()


async def test_stdio_tools_are_offered_and_their_results_reach_the_model(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIT_TOKEN", "t0k3n")
    monkeypatch.setenv("NOT_PASSED", "bot-only")
    entry = kit(env={"KIT_SECRET": "${KIT_TOKEN}"})
    bot = await harness.start(mcp_servers=write_servers(tmp_path / "mcp.json", {"kit": entry}))
    bot.llm.script(
        tool_call_reply(
            [
                ("c1", "kit__add", '{"a": 2, "b": 40}'),
                ("c2", "kit__whoami", "{}"),
                ("c3", "kit__refuse", '{"reason": "not today"}'),
                ("c4", "kit__picture", "{}"),
                ("c5", "kit__link", "{}"),
                ("c6", "kit__stats", '{"n": 7}'),
                ("c7", "kit__env", '{"name": "KIT_SECRET"}'),
                ("c8", "kit__env", '{"name": "NOT_PASSED"}'),
            ]
        ),
        text_reply("All done."),
    )
    assert await ask(bot, "use the kit") == "All done."
    first, second = bot.llm.requests
    offered = {spec["function"]["name"]: spec["function"] for spec in first["tools"]}
    assert offered["kit__add"]["description"] == "Add two integers."
    assert offered["kit__add"]["parameters"]["required"] == ["a", "b"]
    assert offered["kit__add"]["parameters"]["properties"]["a"]["type"] == "integer"
    assert "current_datetime" in offered, "the built-ins are still there"
    results = {name: texts[0] for name, texts in results_by_name(second).items()}
    assert results_by_name(second)["kit__env"] == ["t0k3n", "(unset)"], "only its own env"
    assert results["kit__add"] == "42"
    assert json.loads(results["kit__whoami"]) == {
        "slack/channel_id": "C1",
        "slack/team_id": "T1",
        "slack/thread_ts": json.loads(results["kit__whoami"])["slack/thread_ts"],
        "slack/user_id": "U1",
    }
    assert (
        results["kit__refuse"].startswith("Error: ")
        and "refused: not today" in results["kit__refuse"]
    ), "an isError result is an error text"
    assert results["kit__picture"].startswith("a pixel\n[image 1: image/png")
    assert second["messages"][-1]["role"] == "tool", "no images without TOOL_IMAGES"
    assert results["kit__link"] == "[resource link] spec: https://example.com/spec.md (the spec)"
    assert json.loads(results["kit__stats"]) == {"n": 7, "square": 49}


async def test_http_server_with_headers_from_the_environment(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_TOKEN", "s3cret")
    async with web_server("s3cret") as url:
        servers = {"web": {"url": url, "headers": {"Authorization": "Bearer ${WEB_TOKEN}"}}}
        bot = await harness.start(mcp_servers=write_servers(tmp_path / "mcp.json", servers))
        bot.llm.script(
            tool_call_reply([("c1", "web__lookup", '{"key": "abc"}')]), text_reply("ABC.")
        )
        assert await ask(bot, "look up abc") == "ABC."
        result = results_by_name(bot.llm.requests[1])["web__lookup"][0]
        assert json.loads(result) == {"key": "abc", "value": "ABC", "user": "U1"}
        await bot.stop()


async def test_server_that_crashes_mid_call_is_an_error_and_comes_back(
    harness: Harness, tmp_path: Path
) -> None:
    bot = await harness.start(mcp_servers=write_servers(tmp_path / "mcp.json", {"kit": kit()}))
    bot.llm.script(tool_call_reply([("c1", "kit__crash", "{}")]), text_reply("It broke."))
    assert await ask(bot, "crash it") == "It broke."
    result = results_by_name(bot.llm.requests[1])["kit__crash"][0]
    assert result == "Error: the MCP server kit stopped while running crash; try again later"
    await bot.slack.wait_for(lambda: "kit__add" in tool_names(bot), timeout=30)
    bot.llm.script(tool_call_reply([("c2", "kit__add", '{"a": 1, "b": 1}')]), text_reply("2."))
    assert await ask(bot, "add again") == "2."
    assert results_by_name(bot.llm.requests[3])["kit__add"] == ["2"]
    assert 'slackbot_mcp_server_failures_total{server="kit"} 1.0' in await metrics(bot)


async def test_hanging_tool_times_out_with_tool_timeout_and_shows_the_status_line(
    harness: Harness, tmp_path: Path
) -> None:
    servers = write_servers(tmp_path / "mcp.json", {"kit": kit()})
    bot = await harness.start(mcp_servers=servers, tool_timeout=1.0)
    bot.llm.script(
        tool_call_reply([("c1", "kit__hang", "{}"), ("c2", "kit__add", '{"a": 1, "b": 2}')]),
        text_reply("One hung."),
    )
    assert await ask(bot, "hang") == "One hung."
    edits = [text_of(call.args) for call in bot.slack.calls_to("chat.update")]
    assert any("Running `kit__hang`, `kit__add`" in edit for edit in edits), edits
    results = results_by_name(bot.llm.requests[1])
    assert results["kit__hang"] == ["Error: kit__hang did not finish within 1 seconds."]
    assert results["kit__add"] == ["3"], "the other call of the round is not held up"


async def test_tool_list_change_is_offered_on_the_next_request(
    harness: Harness, tmp_path: Path
) -> None:
    bot = await harness.start(mcp_servers=write_servers(tmp_path / "mcp.json", {"kit": kit()}))
    bot.llm.script(
        tool_call_reply([("c1", "kit__grow", "{}")]),
        tool_call_reply([("c2", "kit__shrink", '{"text": "LOUD"}')]),
        text_reply("loud"),
    )
    assert await ask(bot, "grow") == "loud"
    before, after, last = bot.llm.requests
    assert "kit__shrink" not in {s["function"]["name"] for s in before["tools"]}
    assert "kit__shrink" in {s["function"]["name"] for s in after["tools"]}
    assert results_by_name(last)["kit__shrink"] == ["loud"]


async def test_server_that_fails_at_start_is_skipped_then_retried(
    harness: Harness, tmp_path: Path
) -> None:
    go = tmp_path / "go-ahead"
    servers = {"kit": kit(), "late": kit("--start-only-if", str(go))}
    bot = await harness.start(mcp_servers=write_servers(tmp_path / "mcp.json", servers))
    assert bot.http is not None
    async with bot.http.get(f"{bot.url}/healthz") as response:
        assert response.status == 200, "healthy while an MCP server is down"
    assert "kit__add" in tool_names(bot) and not any(
        n.startswith("late__") for n in tool_names(bot)
    )
    scraped = await metrics(bot)
    assert 'slackbot_mcp_servers{state="up"} 1.0' in scraped
    assert 'slackbot_mcp_servers{state="down"} 1.0' in scraped
    bot.llm.script(tool_call_reply([("c1", "late__add", '{"a": 1, "b": 1}')]), text_reply("no"))
    assert await ask(bot, "late add") == "no"
    assert results_by_name(bot.llm.requests[1])["late__add"][0].startswith(
        "Error: there is no tool named 'late__add'"
    )
    go.touch()
    await bot.slack.wait_for(lambda: "late__add" in tool_names(bot), timeout=60)
    assert 'slackbot_mcp_servers{state="up"} 2.0' in await metrics(bot)


async def test_large_results_are_cut(harness: Harness, tmp_path: Path) -> None:
    servers = write_servers(tmp_path / "mcp.json", {"kit": kit()})
    bot = await harness.start(mcp_servers=servers, history_token_budget=1000)
    bot.llm.script(tool_call_reply([("c1", "kit__big", '{"size": 50000}')]), text_reply("big"))
    assert await ask(bot, "big") == "big"
    result = results_by_name(bot.llm.requests[1])["kit__big"][0]
    assert result.endswith(TRUNCATED) and len(result) == 1500


async def test_no_server_process_is_left_after_the_bot_stops(
    harness: Harness, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    servers = {
        "one": kit("--pidfile", str(pidfile)),
        "two": kit("--pidfile", str(pidfile), "--linger"),
    }
    bot = await harness.start(mcp_servers=write_servers(tmp_path / "mcp.json", servers))
    await bot.slack.wait_for(lambda: len(pids(pidfile)) == 2, timeout=30)
    assert all(alive(pid) for pid in pids(pidfile))
    await bot.stop()
    assert not any(alive(pid) for pid in pids(pidfile))


async def test_access_lists_keep_refused_users_away_from_mcp_tools(
    harness: Harness, tmp_path: Path
) -> None:
    servers = write_servers(tmp_path / "mcp.json", {"kit": kit()})
    bot = await harness.start(mcp_servers=servers, deny_users="U2")
    await bot.mention("call kit__whoami", user="U2")
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.postEphemeral")))
    assert bot.llm.requests == [], "a refused user never reaches the model or its tools"
    bot.llm.script(tool_call_reply([("c1", "kit__whoami", "{}")]), text_reply("You are U1."))
    assert await ask(bot, "who am I") == "You are U1."
    assert '"slack/user_id": "U1"' in results_by_name(bot.llm.requests[1])["kit__whoami"][0]


async def test_http_server_that_goes_away_is_an_error_and_comes_back(
    harness: Harness, tmp_path: Path
) -> None:
    async with web_server("t") as url:
        servers = {"web": {"url": url, "headers": {"Authorization": "Bearer t"}}}
        bot = await harness.start(mcp_servers=write_servers(tmp_path / "mcp.json", servers))
        assert "web__lookup" in tool_names(bot)
    # The server has stopped: a call fails as text, its tools are withdrawn.
    bot.llm.script(tool_call_reply([("c1", "web__lookup", '{"key": "a"}')]), text_reply("gone"))
    assert await ask(bot, "look up a") == "gone"
    [result] = results_by_name(bot.llm.requests[1])["web__lookup"]
    assert result.startswith("Error: "), result
    await bot.slack.wait_for(lambda: "web__lookup" not in tool_names(bot), timeout=30)
    async with web_server("t", port=int(url.split(":")[2].split("/")[0])):
        await bot.slack.wait_for(lambda: "web__lookup" in tool_names(bot), timeout=60)
        await bot.stop()


async def test_tool_images_reach_a_vision_model_in_the_next_request(
    harness: Harness, tmp_path: Path
) -> None:
    servers = write_servers(tmp_path / "mcp.json", {"kit": kit()})
    bot = await harness.start(mcp_servers=servers, tool_images=True)
    # A user turn after tool results is what OpenAI's API takes for images; strict chat
    # templates refuse it, which is why TOOL_IMAGES is off by default (docs/tools.md).
    bot.llm.strict_template = False
    bot.llm.script(
        tool_call_reply([("c1", "kit__picture", "{}"), ("c2", "kit__add", '{"a": 1, "b": 1}')]),
        tool_call_reply([("c3", "kit__add", '{"a": 2, "b": 2}')]),
        text_reply("A pixel."),
    )
    assert await ask(bot, "show me") == "A pixel."
    first, second, third = bot.llm.requests
    *_, pixel, two, shown = second["messages"]
    assert (pixel["role"], two["role"]) == ("tool", "tool")
    assert pixel["content"].startswith("a pixel\n[image 1: image/png")
    assert shown["role"] == "user"
    intro, image = shown["content"]
    assert intro == {"type": "text", "text": tool_images.INTRO}
    assert image["type"] == "image_url"
    assert image["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert third["messages"][-1]["role"] == "tool", "shown once, in the request that follows"
    assert all(m["role"] != "user" or isinstance(m["content"], str) for m in third["messages"])
