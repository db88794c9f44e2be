"""`/llm-config`: a modal sets a channel's preset, prompt, model and temperature."""

from __future__ import annotations

import json

import pytest

from bot import texts
from bot.testing.harness import Harness, channel_message, dm, text_of
from bot.testing.interactive import modal_values, submit
from bot.testing.openai import text_reply
from bot.turns.channel_settings import PRESETS


async def open_modal(bot: Harness, channel: str = "C1") -> dict:
    before = len(bot.slack.calls_to("views.open"))
    status, body = await bot.command("/llm-config", channel=channel)
    assert status == 200 and body in ("", "null"), body
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.open")) > before)
    call = bot.slack.calls_to("views.open")[-1]
    assert call.args["trigger_id"].startswith("trig.")
    return call.args["view"]


async def configure(bot: Harness, channel: str = "C1", **values: str) -> tuple[int, str]:
    view = await open_modal(bot, channel)
    return await bot.interact(submit(view, modal_values(**values)))


async def test_translation_channel_answers_every_message_on_its_own(bot: Harness) -> None:
    view = await open_modal(bot)
    assert view["callback_id"] == "llm_config"
    assert json.loads(view["private_metadata"]) == {"team": "T1", "channel": "C1"}
    options = view["blocks"][1]["element"]["options"]
    assert [o["value"] for o in options] == list(PRESETS)

    status, body = await bot.interact(
        submit(view, modal_values(preset="translate", language="German"))
    )
    assert status == 200 and not body, body
    await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.postEphemeral"))
    saved = bot.slack.calls_to("chat.postEphemeral")[0].args
    assert saved["user"] == "U1" and "Translate every message" in saved["text"]
    assert "German" in saved["text"]

    bot.llm.script(text_reply("Guten Morgen zusammen!"), text_reply("Wie geht es euch?"))
    first = channel_message("Good morning everyone!")  # no mention: answered anyway
    await bot.send(first)
    replies = await bot.wait_reply_done("C1", first["ts"])
    assert text_of(replies[0]) == "Guten Morgen zusammen!"
    request = bot.llm.requests[0]
    assert "German" in request["messages"][0]["content"]
    assert request["messages"][1:] == [{"role": "user", "content": "Good morning everyone!"}]
    assert request["temperature"] == 0.2 and "tools" not in request

    await bot.send(channel_message("How are you all?", thread_ts=first["ts"]))
    await bot.wait_reply_done("C1", first["ts"], count=2)
    assert bot.llm.requests[1]["messages"][1:] == [
        {"role": "user", "content": "How are you all?"}
    ], "each message is translated on its own, without the thread"


async def test_custom_prompt_model_and_temperature_apply_to_that_channel_only(
    bot: Harness,
) -> None:
    status, _ = await configure(
        bot,
        "C2",
        preset="default",
        system_prompt="You are a pirate.",
        model="big-model",
        temperature="0.7",
    )
    assert status == 200
    bot.llm.script(text_reply("Arr."), text_reply("Hello."))
    in_c2 = await bot.mention("hi", channel="C2")
    await bot.wait_reply_done("C2", in_c2["ts"])
    request = bot.llm.requests[0]
    assert request["model"] == "big-model" and request["temperature"] == 0.7
    assert request["messages"][0] == {"role": "system", "content": "You are a pirate."}
    assert request.get("tools"), "the default preset keeps the tools"

    in_c1 = await bot.mention("hi")
    await bot.wait_reply_done("C1", in_c1["ts"])
    other = bot.llm.requests[1]
    assert other["model"] == "fake-model" and "temperature" not in other
    assert other["messages"][0]["content"] != "You are a pirate."
    assert len(bot.llm.requests) == 2
    await bot.send(channel_message("chatting without a mention", channel="C2"))
    await bot.settle()
    assert len(bot.llm.requests) == 2, "only the translation preset answers every message"

    reopened = await open_modal(bot, "C2")
    prompt = next(b for b in reopened["blocks"] if b.get("block_id") == "system_prompt")
    assert prompt["element"]["initial_value"] == "You are a pirate.", "the modal shows the settings"


async def test_settings_survive_a_restart_and_work_in_dms(bot: Harness) -> None:
    await configure(bot, "D1", preset="concise")
    await bot.restart()
    bot.llm.script(text_reply("Short."))
    await bot.send(dm("explain DNS"))
    await bot.slack.wait_for(lambda: bot.llm.requests)
    assert bot.llm.requests[0]["messages"][0]["content"] == PRESETS["concise"].prompt


async def test_invalid_submissions_are_answered_with_field_errors(bot: Harness) -> None:
    status, body = await configure(bot, preset="translate", temperature="7")
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {
        "language": texts.CONFIG_NEED_LANGUAGE,
        "temperature": texts.CONFIG_BAD_TEMPERATURE,
    }
    assert bot.slack.calls_to("chat.postEphemeral") == []
    bot.llm.script(text_reply("Not translated."))
    await bot.send(channel_message("nothing was saved"))
    await bot.settle()
    assert bot.llm.requests == []


@pytest.mark.parametrize(
    "model", ['=HYPERLINK("https://evil.example","x")', "gpt 4o", "-cmd", "a" * 129, "x\ty"]
)
async def test_model_names_accept_any_text(bot: Harness, model: str) -> None:
    """Review finding: a model name is shown, logged and exported; any text went through."""
    status, body = await configure(bot, "C2", preset="default", model=model)
    assert status == 200
    answer = json.loads(body)
    assert answer == {"response_action": "errors", "errors": {"model": texts.CONFIG_MODEL_CHARSET}}
    await bot.mention("hi", channel="C2")
    await bot.slack.wait_for(lambda: bot.llm.requests)
    assert bot.llm.requests[0]["model"] == "fake-model", "nothing was saved"


@pytest.mark.parametrize(
    "model", ["meta-llama/Llama-3.1-8B-Instruct", "qwen2.5:7b", "@cf/meta/llama-3-8b", "gpt-4o"]
)
async def test_real_model_names_are_accepted(bot: Harness, model: str) -> None:
    status, body = await configure(bot, "C2", preset="default", model=model)
    assert status == 200 and not body, body
    await bot.mention("hi", channel="C2")
    await bot.slack.wait_for(lambda: bot.llm.requests)
    assert bot.llm.requests[0]["model"] == model
