"""App Home: suggested prompts on the Messages tab, a published view on the Home tab."""

from __future__ import annotations

from bot import texts
from bot.slack_app.home import build_home
from bot.testing.harness import Harness, next_ts
from bot.testing.openai import text_reply


def home_opened(tab: str, *, user: str = "U1", channel: str = "D1") -> dict:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": tab,
        "event_ts": next_ts(),
    }


def section_text(view: dict, block_id: str) -> str | None:
    for block in view["blocks"]:
        if block.get("block_id") == block_id:
            return block["text"]["text"]
    return None


async def test_messages_tab_pins_the_suggested_prompts_in_the_dm(bot: Harness) -> None:
    assert await bot.send(home_opened("messages")) == 200
    await bot.slack.wait_for(lambda: bot.slack.calls_to("assistant.threads.setSuggestedPrompts"))
    call = bot.slack.calls_to("assistant.threads.setSuggestedPrompts")[0]
    assert call.response["ok"], call.response
    assert call.args["channel_id"] == "D1"
    assert "thread_ts" not in call.args, "pinned to the Messages tab, not to a thread"
    assert [p["title"] for p in call.args["prompts"]] == [t for t, _ in texts.SUGGESTED_PROMPTS]
    assert bot.slack.calls_to("views.publish") == []


async def test_home_tab_publishes_what_the_bot_does_its_model_and_settings(bot: Harness) -> None:
    assert await bot.send(home_opened("home", user="U7")) == 200
    await bot.slack.wait_for(lambda: "U7" in bot.slack.home_views)
    call = bot.slack.calls_to("views.publish")[0]
    assert call.response["ok"], call.response
    view = bot.slack.home_views["U7"]
    assert section_text(view, "about") == texts.HOME_ABOUT
    assert "`fake-model`" in (section_text(view, "model") or "")
    assert "`/llm-config`" in (section_text(view, "settings") or "")
    assert bot.llm.requests == []


async def test_home_tab_shows_the_users_own_usage(bot: Harness) -> None:
    bot.llm.script(text_reply("Hello.", usage={"prompt_tokens": 30, "completion_tokens": 12}))
    event = await bot.mention("hi")
    await bot.wait_reply_done("C1", event["ts"])
    await bot.settle()
    assert await bot.send(home_opened("home", user="U1")) == 200
    await bot.slack.wait_for(lambda: "U1" in bot.slack.home_views)
    usage = section_text(bot.slack.home_views["U1"], "usage") or ""
    assert usage.startswith(texts.HOME_USAGE_TITLE), usage
    assert f"{texts.USAGE_TODAY}: 42 tokens in 1 answer" in usage, usage


async def test_home_tab_survives_a_refused_publish(bot: Harness) -> None:
    bot.slack.fail_next("views.publish", error="not_enabled")
    assert await bot.send(home_opened("home")) == 200
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.publish"))
    assert await bot.send(home_opened("home")) == 200  # the next open publishes
    await bot.slack.wait_for(lambda: "U1" in bot.slack.home_views)


def test_usage_slot_shows_only_what_the_usage_hook_returns() -> None:
    with_usage = build_home(model="m", config_command="/c", usage="12 answers this week")
    assert section_text(with_usage, "usage") == f"{texts.HOME_USAGE_TITLE}\n12 answers this week"
    assert section_text(build_home(model="m", config_command="/c", usage=None), "usage") is None
    no_command = build_home(model="m", config_command="")
    assert "turned off" in (section_text(no_command, "settings") or "")


async def test_an_app_from_the_older_manifest_keeps_answering_when_prompts_are_refused(
    bot: Harness,
) -> None:
    from bot.testing.harness import dm, text_of
    from bot.testing.openai import text_reply

    # assistant_view apps pin prompts per thread; a thread-less call may be refused there.
    bot.slack.fail_next("assistant.threads.setSuggestedPrompts", error="invalid_thread_ts")
    assert await bot.send(home_opened("messages")) == 200
    await bot.slack.wait_for(lambda: bot.slack.calls_to("assistant.threads.setSuggestedPrompts"))
    bot.llm.script(text_reply("Still here."))
    await bot.send(dm("hello"))
    await bot.slack.wait_for(
        lambda: any(text_of(m) == "Still here." for m in bot.slack.bot_messages("D1"))
    )


async def test_the_usage_hook_fills_the_slot_and_its_failure_leaves_it_out(slack) -> None:
    import json

    from slack_bolt.async_app import AsyncApp
    from slack_bolt.request.async_request import AsyncBoltRequest
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack_app import home

    asked: list[tuple[str, str]] = []

    async def usage(team_id: str, user_id: str) -> str | None:
        asked.append((team_id, user_id))
        if user_id == "U9":
            raise RuntimeError("usage store down")
        return "3 answers today, 1,234 tokens"

    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
    app = AsyncApp(client=client, signing_secret="s", request_verification_enabled=False)
    home.register(app, model="m", config_command="/llm-config", usage_summary=usage)
    for user in ("U1", "U9"):
        body = {"type": "event_callback", "team_id": "T1", "event": home_opened("home", user=user)}
        await app.async_dispatch(AsyncBoltRequest(body=json.dumps(body), mode="http"))
    await slack.wait_for(lambda: {"U1", "U9"} <= set(slack.home_views))
    assert asked == [("T1", "U1"), ("T1", "U9")]
    assert "3 answers today" in (section_text(slack.home_views["U1"], "usage") or "")
    assert section_text(slack.home_views["U9"], "usage") is None
