"""Many workspaces: OAuth installs through the real app, and no data crossing workspaces."""

from __future__ import annotations

from sqlalchemy import text

from bot.db.engine import create_engine
from bot.testing.harness import Harness, channel_message, dm, text_of
from bot.testing.openai import text_reply
from bot.testing.workspaces import OAUTH, TOKENS, install, send


def tokens_used(bot: Harness, method: str) -> list[str | None]:
    return [c.token for c in bot.slack.calls_to(method)]


async def test_oauth_install_rejects_a_forged_state(harness: Harness) -> None:
    bot = await harness.start(**OAUTH)
    bot.slack.add_install("code-x", "T9", "xoxb-nine")
    assert bot.http is not None
    async with bot.http.get(
        f"{bot.url}/slack/oauth_redirect", params={"code": "code-x", "state": "made-up"}
    ) as response:
        assert response.status >= 400
    assert bot.slack.calls_to("oauth.v2.access") == []


async def test_two_workspaces_share_nothing(harness: Harness) -> None:
    bot = await harness.start(**OAUTH)
    await install(bot, "T1")
    await install(bot, "T2")

    bot.llm.script(text_reply("I'll remember apple."))
    await send(bot, "T1", dm("my code word is apple"))
    await bot.slack.wait_for(
        lambda: len(bot.slack.bot_messages("D1")) == 1 and not bot.runtime.bot.tasks
    )
    bot.llm.script(text_reply("I don't know your code word."))
    await send(bot, "T2", dm("what is my code word?"))  # same DM id and user id, other workspace
    await bot.slack.wait_for(
        lambda: len(bot.slack.bot_messages("D1")) == 2 and not bot.runtime.bot.tasks
    )
    assert [m["content"] for m in bot.llm.requests[-1]["messages"][1:]] == ["what is my code word?"]
    posts = bot.slack.calls_to("chat.postMessage")
    assert [c.token for c in posts] == [TOKENS["T1"], TOKENS["T2"]]
    assert set(tokens_used(bot, "chat.update")) == set(TOKENS.values())

    bot.llm.script(text_reply("Thread in T1."))
    root = channel_message("<@UBOT> start a thread in T1")
    await send(bot, "T1", {**root, "type": "app_mention"})
    await bot.wait_reply_done("C1", root["ts"])
    # The same channel id and thread ts in T2 is another conversation: a follow-up without a
    # mention there is not for the bot.
    await send(bot, "T2", channel_message("follow-up in T2", thread_ts=root["ts"]))
    await bot.settle()
    assert len(bot.llm.requests) == 3

    engine = create_engine(bot.database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT team_id, content FROM messages"))).all()
    finally:
        await engine.dispose()
    assert {team for team, _ in rows} == {"T1", "T2"}
    assert not any("apple" in content for team, content in rows if team == "T2")
    replies = [text_of(m) for m in bot.slack.bot_messages("D1")]
    assert replies == ["I'll remember apple.", "I don't know your code word."]


async def test_each_workspace_strips_its_own_bot_mention(harness: Harness) -> None:
    """The bot is a different user in each workspace; its mention never reaches the model."""
    bot = await harness.start(**OAUTH)
    await install(bot, "T1")
    await install(bot, "T2", bot_user_id="UBOT2")
    bot.llm.script(text_reply("one"), text_reply("two"))
    first = channel_message("<@UBOT> hello from one")
    await send(bot, "T1", {**first, "type": "app_mention"})
    await bot.wait_reply_done("C1", first["ts"])
    second = channel_message("<@UBOT2> hello from two", channel="C2")
    await send(bot, "T2", {**second, "type": "app_mention"})
    await bot.wait_reply_done("C2", second["ts"])
    asked = [r["messages"][-1]["content"] for r in bot.llm.requests]
    assert asked == ["hello from one", "hello from two"]
