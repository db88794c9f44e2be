"""Files across workspaces, the fake's strictness, and images remembered in follow-ups."""

from __future__ import annotations

import aiohttp

from bot import texts
from bot.testing.documents import make_png
from bot.testing.file_questions import answered, ask_with_files
from bot.testing.harness import Harness, dm
from bot.testing.openai import image_parts, text_reply
from bot.testing.slack import FakeSlack
from bot.testing.workspaces import OAUTH, TOKENS, install, send


async def test_fake_slack_file_download_needs_the_bot_token(bot: Harness) -> None:
    file = bot.slack.add_file("a.txt", b"hello", "text/plain")
    async with aiohttp.ClientSession() as http:
        async with http.get(file["url_private_download"]) as response:
            assert response.status == 403
        headers = {"Authorization": "Bearer xoxb-test-token"}
        async with http.get(file["url_private_download"], headers=headers) as response:
            assert response.status == 200 and await response.read() == b"hello"
        async with http.get(file["url_private_download"] + "-nope", headers=headers) as response:
            assert response.status == 404


async def test_download_uses_the_token_of_the_questions_workspace(harness: Harness) -> None:
    bot = await harness.start(**OAUTH)
    await install(bot, "T1")
    await install(bot, "T2")
    file = bot.slack.add_file("two.txt", b"from team two", "text/plain", channel="D1")
    bot.llm.script(text_reply("Read it."))
    event = dm("read")
    event.update(subtype="file_share", files=[file], upload=True)
    await send(bot, "T2", event)
    await bot.slack.wait_for(lambda: bot.llm.requests and not bot.runtime.bot.tasks)
    assert [d.token for d in bot.slack.downloads] == [TOKENS["T2"]]
    assert "from team two" in bot.llm.requests[-1]["messages"][-1]["content"]


async def test_follow_up_sees_an_image_sent_earlier(bot: Harness) -> None:
    bot.llm.script(text_reply("A square."), text_reply("It was red."))
    png = bot.slack.add_file("sq.png", make_png(8, 8), "image/png", channel="D1")
    first = dm("look")
    first.update(subtype="file_share", files=[png], upload=True)
    await bot.send(first)
    await bot.slack.wait_for(lambda: len(bot.llm.requests) == 1 and not bot.runtime.bot.tasks)
    await bot.send(dm("what colour was it?"))
    await bot.slack.wait_for(lambda: len(bot.llm.requests) == 2 and not bot.runtime.bot.tasks)
    assert image_parts(bot.llm.requests[1]) == image_parts(bot.llm.requests[0])
    assert len(bot.slack.downloads) == 1


async def test_redirect_to_another_host_never_gets_the_token(bot: Harness) -> None:
    async with FakeSlack() as elsewhere:
        target = elsewhere.add_file("loot.txt", b"stolen", "text/plain")
        lure = bot.slack.add_file(
            "a.txt", b"", "text/plain", redirect=target["url_private_download"]
        )
        same_host = bot.slack.add_file(
            "b.txt",
            b"",
            "text/plain",
            redirect=bot.slack.add_file("c.txt", b"moved", "text/plain")["url_private_download"],
        )
        bot.llm.script(text_reply("ok"))
        event = await ask_with_files(bot, "read", [lure, same_host])
        shown = await answered(bot, event)
    assert texts.file_skipped("a.txt", texts.FILE_FORBIDDEN) in shown
    assert elsewhere.downloads == [], "the other host was never asked"
    assert "[Attached file: b.txt]\nmoved" in bot.llm.requests[-1]["messages"][-1]["content"]
