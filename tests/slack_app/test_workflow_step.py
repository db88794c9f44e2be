"""The Workflow Builder step "Ask the model" through the real app (HTTP and Socket Mode).

The fake Slack builds `function_executed` from app_manifest.yml's `functions` and checks
`functions.completeSuccess` / `functions.completeError` strictly (execution id, declared
output names, once per execution).
"""

from __future__ import annotations

import json
from typing import Any

from bot import texts_tools
from bot.testing.harness import Harness
from bot.testing.openai import error_reply, text_reply, tool_call_reply
from bot.testing.signing import event_body


async def run_step(bot: Harness, inputs: dict[str, Any], *, socket: bool = False) -> dict:
    event = bot.slack.function_executed("ask_model", inputs)
    if socket:
        await bot.slack.send_socket_event(json.loads(event_body(event)))
    else:
        assert await bot.send(event) == 200
    execution = bot.slack.executions[event["function_execution_id"]]
    await bot.slack.wait_for(lambda: execution["outcome"] is not None, timeout=15)
    return {**execution, "event": event}


def completions(bot: Harness) -> list[Any]:
    return [
        call
        for call in bot.slack.calls
        if call.method in ("functions.completeSuccess", "functions.completeError")
    ]


async def test_the_step_completes_with_the_answer(bot: Harness) -> None:
    bot.llm.script(text_reply("Dear customer, thank you.", pieces=3))
    done = await run_step(bot, {"prompt": "Draft a reply", "user_id": "U7"})
    assert done["outcome"] == "success", done
    assert done["outputs"] == {"answer": "Dear customer, thank you."}
    (call,) = completions(bot)
    assert call.response["ok"] and call.token == done["event"]["bot_access_token"]
    asked = bot.llm.requests[0]["messages"][-1]
    assert asked["role"] == "user" and "Draft a reply" in json.dumps(asked)
    await bot.settle()
    assert 'slackbot_workflow_steps_total{outcome="completed"} 1.0' in await bot.scrape()
    assert bot.runtime is not None and bot.runtime.usage is not None
    spent = [r async for r in bot.runtime.usage.ledger.records(team_id="T1")]
    assert [r.user_id for r in spent] == ["U7"], "counted under the workflow's person"


async def test_a_context_message_is_given_to_the_model(bot: Harness) -> None:
    ts = bot.slack.add_message("C5", "Order 1234 arrived broken", user="U2")
    bot.llm.script("Sorry about order 1234.")
    done = await run_step(
        bot, {"prompt": "Draft a reply", "user_id": "U7", "channel_id": "C5", "message_ts": ts}
    )
    assert done["outcome"] == "success", done
    assert "Order 1234 arrived broken" in json.dumps(bot.llm.requests[0]["messages"][-1])


async def test_the_step_fails_with_a_sentence_when_the_model_fails(bot: Harness) -> None:
    bot.llm.script(error_reply(400, "model not found"), error_reply(400, "model not found"))
    done = await run_step(bot, {"prompt": "Draft a reply"})
    assert done["outcome"] == "error"
    assert done["error"].startswith("The model could not answer this step:")
    assert len(completions(bot)) == 1


async def test_an_empty_prompt_fails_the_step(bot: Harness) -> None:
    done = await run_step(bot, {"prompt": "  "})
    assert done == {**done, "outcome": "error", "error": texts_tools.STEP_EMPTY_PROMPT}
    assert bot.llm.requests == []


async def test_a_slow_answer_fails_within_the_step_deadline(harness: Harness) -> None:
    bot = await harness.start(workflow_step_deadline=0.5)
    bot.llm.script(text_reply("slow " * 20, pieces=20, delay=0.2))
    done = await run_step(bot, {"prompt": "Take your time"})
    assert done["outcome"] == "error"
    assert done["error"] == texts_tools.STEP_TIMED_OUT.format(seconds=0.5)


async def test_a_long_answer_is_cut_with_a_note(harness: Harness) -> None:
    bot = await harness.start(workflow_answer_chars=300)
    bot.llm.script("word " * 400)
    done = await run_step(bot, {"prompt": "Write a lot"})
    answer = done["outputs"]["answer"]
    assert len(answer) <= 300 and answer.endswith(texts_tools.STEP_CUT.format(limit=300).strip())


async def test_a_redelivered_step_is_completed_once(bot: Harness) -> None:
    bot.llm.script("Once.")
    event = bot.slack.function_executed("ask_model", {"prompt": "Hi"})
    await bot.send(event)
    await bot.send(event, retry_num=1)
    execution = bot.slack.executions[event["function_execution_id"]]
    await bot.slack.wait_for(lambda: execution["outcome"] is not None)
    await bot.settle()
    assert len(completions(bot)) == 1 and len(bot.llm.requests) == 1


async def test_the_step_over_socket_mode(harness: Harness) -> None:
    bot = await harness.start(slack_app_token="xapp-test", slack_signing_secret=None)
    bot.llm.script("Over the socket.")
    done = await run_step(bot, {"prompt": "Hi"}, socket=True)
    assert done["outputs"] == {"answer": "Over the socket."}


async def test_the_steps_answer_pings_nobody(bot: Harness) -> None:
    bot.llm.script(text_reply("<!channel> the office is closed, <!here> <!subteam^S1|ops>."))
    done = await run_step(bot, {"prompt": "Announce: <!channel> office closed", "user_id": "U7"})
    assert done["outcome"] == "success", done
    answer = done["outputs"]["answer"]
    for token in ("<!channel>", "<!here>", "<!subteam^"):
        assert token not in answer, answer
    assert "the office is closed" in answer


async def test_the_step_does_not_search_slack_with_the_configured_user_token(
    harness: Harness,
) -> None:
    harness.slack.user_tokens["xoxp-search"] = "U1"
    bot = await harness.start(slack_search_user_token="xoxp-search")
    bot.slack.add_channel("C2", "launches", members=["U1", "U2", "UBOT"])
    bot.slack.add_message("C2", "The Gizmo launch is on March 3.", user="U7")
    bot.llm.script(
        tool_call_reply([("call_1", "search_slack", '{"query": "Gizmo launch"}')]),
        text_reply("March 3."),
    )
    done = await run_step(bot, {"prompt": "When does Gizmo launch?", "user_id": "U7"})
    offered = [t["function"]["name"] for t in bot.llm.requests[0].get("tools") or []]
    assert "search_slack" not in offered
    assert bot.slack.calls_to("assistant.search.context") == [], done


async def test_the_access_lists_refuse_the_step_too(harness: Harness) -> None:
    """The step is a surface like a mention: a denied person or channel does not reach the model."""
    bot = await harness.start(deny_users="U666", deny_channels="C9")
    ts = bot.slack.add_message("C9", "secret roadmap", user="U2")
    denied_user = await run_step(bot, {"prompt": "Draft a reply", "user_id": "U666"})
    denied_channel = await run_step(
        bot, {"prompt": "Summarise", "user_id": "U7", "channel_id": "C9", "message_ts": ts}
    )
    for done in (denied_user, denied_channel):
        assert done["outcome"] == "error", done
        assert done["error"] == texts_tools.STEP_REFUSED
    assert bot.llm.requests == [], "a refused step never reaches the model"
    bot.llm.script("Allowed.")
    allowed = await run_step(bot, {"prompt": "Hi", "user_id": "U7"})  # no channel to check
    assert allowed["outputs"] == {"answer": "Allowed."}
