"""What the Workflow Builder step hands to the workflow: it may post it anywhere."""

from __future__ import annotations

import pytest

from bot.testing.harness import Harness
from bot.testing.openai import text_reply, tool_call_reply
from tests.slack_app.test_workflow_step import run_step
from tests.tools.test_search_slack import seed, tools_offered

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


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
    seed(bot)
    bot.llm.script(
        tool_call_reply([("call_1", "search_slack", '{"query": "Gizmo launch"}')]),
        text_reply("March 3."),
    )
    done = await run_step(bot, {"prompt": "When does Gizmo launch?", "user_id": "U7"})
    assert "search_slack" not in tools_offered(bot.llm.requests[0])
    assert bot.slack.calls_to("assistant.search.context") == [], done
