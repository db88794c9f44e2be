"""Tool calls through the real app: signed events in, tools run, the answer continues in place.

The model is the fake server scripted with tool-call chunks shaped like real gateways send
them; the user tools come from tests/tools/sample_tools.py loaded through TOOL_MODULES.
"""

from __future__ import annotations

import json

import pytest

from bot import texts
from bot.llm import history
from bot.testing.harness import Harness, channel_message, text_of
from bot.testing.openai import text_reply, tool_call_reply
from bot.testing.toolchecks import (
    assert_valid_tool_sequence,
    chunk,
    exchanges,
    frag,
    last_calls,
    results_by_name,
    tool_round,
)
from tests.tools import sample_tools


@pytest.fixture
async def bot(harness: Harness) -> Harness:
    """The real bot with the sample user tools loaded."""
    sample_tools.reset()
    return await harness.start(tool_modules="tests.tools.sample_tools")


async def ask(bot: Harness, question: str) -> str:
    """Mention the bot, wait for the finished reply and return what Slack shows."""
    event = await bot.mention(question)
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert len(replies) == 1
    return text_of(replies[0])


async def test_single_tool_call(bot: Harness) -> None:
    bot.llm.script(
        tool_call_reply([("call_1", "echo", '{"text": "hi", "times": 2}')]),
        text_reply("The tool said hihi."),
    )
    assert await ask(bot, "echo hi twice") == "The tool said hihi."
    first, second = bot.llm.requests
    offered = {spec["function"]["name"]: spec["function"] for spec in first["tools"]}
    assert {"echo", "current_datetime", "read_slack_message"} <= set(offered)
    assert offered["echo"]["parameters"]["required"] == ["text"]
    assert offered["echo"]["parameters"]["properties"]["style"]["enum"] == ["plain", "loud"]
    assert second["tools"] == first["tools"], "tools are advertised on every request"
    messages = second["messages"]
    assert messages[-3]["role"] == "user"
    assert messages[-2]["content"] is None, "an assistant message of only tool calls"
    assert messages[-2]["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "echo", "arguments": '{"text": "hi", "times": 2}'},
        }
    ]
    assert messages[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "hihi"}


async def test_parallel_calls_run_concurrently(bot: Harness) -> None:
    # Each call waits (at most 5 s) until the other has started: run one after the
    # other, the first would give up and answer "alone".
    bot.llm.script(
        tool_call_reply(
            [("call_a", "rendezvous", '{"name": "a"}'), ("call_b", "rendezvous", '{"name": "b"}')]
        ),
        text_reply("Both met."),
    )
    assert await ask(bot, "meet") == "Both met."
    assert results_by_name(bot.llm.requests[1]) == {"rendezvous": ["a: met", "b: met"]}
    assert_valid_tool_sequence(bot.llm.requests[1]["messages"])


async def test_tool_call_without_index(bot: Harness) -> None:
    bot.llm.script(
        tool_round(
            chunk(frag(id="call_a", name="echo", arguments="")),
            chunk(frag(arguments='{"text": ')),
            chunk(frag(arguments='"one"}')),
            chunk(frag(id="call_b", name="echo", arguments='{"text": "two"}')),
        ),
        text_reply("ok"),
    )
    assert await ask(bot, "two echoes") == "ok"
    assert last_calls(bot.llm.requests[1]) == [("echo", {"text": "one"}), ("echo", {"text": "two"})]
    assert results_by_name(bot.llm.requests[1]) == {"echo": ["one", "two"]}


async def test_parallel_calls_all_on_index_zero(bot: Harness) -> None:
    bot.llm.script(
        tool_round(
            chunk(frag(0, "call_a", "rendezvous", "")),
            chunk(frag(0, arguments='{"name": "a"}')),
            chunk(frag(0, "call_b", "rendezvous", "")),
            chunk(frag(0, arguments='{"name": "b"}')),
        ),
        text_reply("ok"),
    )
    assert await ask(bot, "meet on index zero") == "ok"
    request = bot.llm.requests[1]
    assert [c["id"] for c in exchanges(request["messages"])[-1][0]["tool_calls"]] == [
        "call_a",
        "call_b",
    ]
    assert results_by_name(request) == {"rendezvous": ["a: met", "b: met"]}


async def test_whole_arguments_in_one_fragment(bot: Harness) -> None:
    bot.llm.script(
        tool_round(chunk(frag(0, "call_a", "echo", '{"text": "all at once", "style": "loud"}'))),
        text_reply("ok"),
    )
    assert await ask(bot, "shout") == "ok"
    assert results_by_name(bot.llm.requests[1]) == {"echo": ["ALL AT ONCE"]}


async def test_arguments_null_for_no_argument_tool(bot: Harness) -> None:
    bot.llm.script(tool_round(chunk(frag(0, "call_a", "who_called", None))), text_reply("ok"))
    assert await ask(bot, "who am I?") == "ok"
    request = bot.llm.requests[1]
    assert last_calls(request) == [("who_called", {})], "null arguments are sent back as {}"
    assert json.loads(results_by_name(request)["who_called"][0]) == {"user": "U1", "channel": "C1"}


async def test_call_repeated_verbatim(bot: Harness) -> None:
    bot.llm.script(
        tool_round(
            chunk(frag(0, "call_a", "echo", "")),
            chunk(frag(0, arguments='{"text": ')),
            chunk(frag(0, arguments='"once"}')),
            chunk(frag(0, "call_a", "echo", '{"text": "once"}')),  # the whole call again
            chunk(frag(0, name="echo", arguments='{"text":"once"}')),  # and without its id
            chunk(frag(0, arguments='{"text": "once"}')),  # and only its arguments
        ),
        text_reply("ok"),
    )
    assert await ask(bot, "echo once") == "ok"
    assert sample_tools.STATE.calls == [("echo", "once")], "the repeat did not run again"
    assert last_calls(bot.llm.requests[1]) == [("echo", {"text": "once"})]
    assert_valid_tool_sequence(bot.llm.requests[1]["messages"])


async def test_text_before_tool_calls_stays(bot: Harness) -> None:
    bot.llm.script(
        tool_call_reply([("call_1", "echo", '{"text": "x"}')], content_before="Let me look."),
        text_reply("Found it."),
    )
    assert await ask(bot, "look it up") == "Let me look.\n\nFound it."
    assistant, _ = exchanges(bot.llm.requests[1]["messages"])[-1]
    assert assistant["content"] == "Let me look."


async def test_tool_calls_with_finish_reason_stop(bot: Harness) -> None:
    bot.llm.script(
        tool_round(chunk(frag(0, "call_a", "echo", '{"text": "s"}')), finish="stop"),
        text_reply("ok"),
    )
    assert await ask(bot, "echo s") == "ok"
    assert results_by_name(bot.llm.requests[1]) == {"echo": ["s"]}


async def test_tool_name_repeated_on_every_fragment(bot: Harness) -> None:
    bot.llm.script(
        tool_round(
            chunk(frag(0, "call_a", "echo", '{"text"')),
            chunk(frag(0, name="echo", arguments=': "named"}')),
        ),
        text_reply("ok"),
    )
    assert await ask(bot, "echo named") == "ok"
    assert results_by_name(bot.llm.requests[1]) == {"echo": ["named"]}


async def test_malformed_arguments_become_results_the_model_reads(bot: Harness) -> None:
    bad = {
        "c_json": ('{"text": "hi"', "not valid JSON"),
        "c_type": ('{"text": "hi", "times": "many"}', "'times': Input should be a valid integer"),
        "c_name": ('{"words": "hi"}', "unknown parameter 'words'"),
        "c_list": ('["hi"]', "must be a JSON object"),
    }
    bot.llm.script(
        tool_call_reply([(call_id, "echo", args) for call_id, (args, _) in bad.items()]),
        text_reply("Sorry."),
    )
    assert await ask(bot, "echo") == "Sorry."
    found = results_by_name(bot.llm.requests[1])["echo"]
    for result, (_, expected) in zip(found, bad.values(), strict=True):
        assert result.startswith("Error: invalid arguments for echo") and expected in result
    assert sample_tools.STATE.calls == [], "no call with bad arguments reached the tool"


async def test_unknown_tool(bot: Harness) -> None:
    bot.llm.script(tool_call_reply([("call_1", "launch_rockets", "{}")]), text_reply("I can't."))
    assert await ask(bot, "launch") == "I can't."
    (result,) = results_by_name(bot.llm.requests[1])["launch_rockets"]
    assert "no tool named 'launch_rockets'" in result and "echo" in result


async def test_tool_that_raises(bot: Harness) -> None:
    bot.llm.script(tool_call_reply([("call_1", "explode", "{}")]), text_reply("It failed."))
    assert await ask(bot, "explode") == "It failed."
    assert results_by_name(bot.llm.requests[1]) == {
        "explode": ["Error: explode failed: RuntimeError: kaboom"]
    }


async def test_tool_that_hangs(harness: Harness) -> None:
    bot = await harness.start(tool_modules="tests.tools.sample_tools", tool_timeout=0.3)
    bot.llm.script(
        tool_call_reply([("call_1", "hang", "{}"), ("call_2", "echo", '{"text": "fine"}')]),
        text_reply("One timed out."),
    )
    assert await ask(bot, "hang") == "One timed out."
    assert results_by_name(bot.llm.requests[1]) == {
        "hang": ["Error: hang did not finish within 0.3 seconds."],
        "echo": ["fine"],
    }


async def test_round_cap_stops_a_looping_model(harness: Harness) -> None:
    bot = await harness.start(tool_modules="tests.tools.sample_tools", max_tool_rounds=3)
    bot.llm.responder = lambda body: tool_call_reply(
        [(f"call_{len(bot.llm.requests)}", "echo", '{"text": "again"}')],
        content_before=f"Step {len(bot.llm.requests)}.",
    )
    shown = await ask(bot, "loop forever")
    assert len(bot.llm.requests) == 3
    assert shown == "Step 1.\n\nStep 2.\n\nStep 3.\n\n" + texts.TOOL_ROUNDS.lstrip("\n")
    assert_valid_tool_sequence(bot.llm.requests[-1]["messages"])


async def test_status_line_names_the_running_tool(bot: Harness) -> None:
    bot.llm.script(
        tool_call_reply([("call_1", "wait_for_gate", "{}")], content_before="Let me check."),
        text_reply("All done."),
    )
    event = await bot.mention("check")

    def status_shown() -> list[str]:
        edits = [text_of(c.args) for c in bot.slack.calls_to("chat.update")]
        return [e for e in edits if "Running `wait_for_gate`" in e]

    await bot.slack.wait_for(lambda: bool(status_shown()))
    assert status_shown()[0].startswith("Let me check.\n\n"), "earlier text stays above it"
    sample_tools.STATE.gate.set()
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert text_of(replies[0]) == "Let me check.\n\nAll done."


async def test_follow_up_sees_earlier_tool_calls_and_results(bot: Harness) -> None:
    bot.llm.script(
        tool_call_reply([("call_1", "echo", '{"text": "42"}')], content_before="Checking."),
        text_reply("It is 42."),
        text_reply("Still 42."),
    )
    first = await bot.mention("what is the number?")
    await bot.wait_reply_done("C1", first["ts"])
    await bot.send(channel_message("are you sure?", thread_ts=first["ts"]))
    await bot.wait_reply_done("C1", first["ts"], count=2)
    sent = [
        (m["role"], m.get("content"), m.get("tool_call_id"))
        for m in bot.llm.requests[-1]["messages"][1:]
    ]
    assert sent == [
        ("user", "what is the number?", None),
        ("assistant", "Checking.", None),
        ("tool", "42", "call_1"),
        ("assistant", "It is 42.", None),
        ("user", "are you sure?", None),
    ]
    assert bot.llm.requests[-1]["messages"][2]["tool_calls"][0]["id"] == "call_1"


async def test_history_trim_never_splits_a_call_from_its_result(harness: Harness) -> None:
    bot = await harness.start(
        tool_modules="tests.tools.sample_tools", system_prompt="Be brief.", history_token_budget=400
    )
    big_call = json.dumps({"size": 500, "note": "n" * 700})
    bot.llm.script(
        tool_call_reply([("call_1", "blob", big_call), ("call_2", "blob", '{"size": 20}')]),
        text_reply("Done."),
        text_reply("Nothing more."),
    )
    first = await bot.mention("run the tools")
    await bot.wait_reply_done("C1", first["ts"])
    await bot.send(channel_message("and now?", thread_ts=first["ts"]))
    await bot.wait_reply_done("C1", first["ts"], count=2)

    # Within the turn, the results are cut to fit instead of losing the question.
    during = bot.llm.requests[1]["messages"]
    assert_valid_tool_sequence(during)
    assert [m["role"] for m in during] == ["system", "user", "assistant", "tool", "tool"]
    assert texts.TRUNCATED_INPUT in during[3]["content"] and during[4]["content"] == "x" * 20

    # On the follow-up, the newest messages that fit end inside the tool round: trimming
    # message by message would keep both results without their call.
    untrimmed = [
        *during[1:3],
        {"role": "tool", "tool_call_id": "call_1", "content": "x" * 500},
        during[4],
        {"role": "assistant", "content": "Done."},
        {"role": "user", "content": "and now?"},
    ]
    costs = [history.message_tokens(m) for m in untrimmed]
    room = 400 - history.message_tokens({"role": "system", "content": "Be brief."})
    assert sum(costs[2:]) <= room < sum(costs[1:]), "the cut falls inside the tool round"
    after = bot.llm.requests[2]["messages"]
    assert_valid_tool_sequence(after)
    # "Done." would fit too, but a trimmed history must start with a user turn.
    assert [(m["role"], m["content"]) for m in after] == [
        ("system", "Be brief."),
        ("user", "and now?"),
    ]
