"""Attack tests: `/llm-config` cannot be used to reconfigure a channel by whoever may not."""

from __future__ import annotations

import json

from bot import texts
from bot.testing.harness import Harness
from bot.testing.interactive import modal_values, submit
from bot.testing.openai import text_reply

PROMPT = "You only answer in riddles. SECRET-PROMPT-MARKER"


async def _open(bot: Harness, user: str = "U1", channel: str = "C1") -> dict:
    before = len(bot.slack.calls_to("views.open"))
    status, _ = await bot.command("/llm-config", channel=channel, user=user)
    assert status == 200
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.open")) > before)
    return bot.slack.calls_to("views.open")[-1].args["view"]


async def _saved_prompt(bot: Harness) -> str:
    bot.llm.script(text_reply("ok"))
    event = await bot.mention("hi")
    await bot.wait_reply_done("C1", event["ts"])
    return str(bot.llm.requests[-1]["messages"][0]["content"])


def _errors(body: str) -> dict:
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    return dict(answer["errors"])


async def test_config_command_and_submission_obey_the_deny_list(harness: Harness) -> None:
    bot = await harness.start(deny_users="U2")
    status, body = await bot.command("/llm-config", user="U2")
    assert status == 200 and texts.ACCESS_DENIED in body
    assert bot.slack.calls_to("views.open") == []
    view = await _open(bot, "U1")
    status, body = await bot.interact(submit(view, modal_values(system_prompt=PROMPT), user="U2"))
    assert _errors(body) == {"preset": texts.ACCESS_DENIED}
    assert "SECRET-PROMPT-MARKER" not in await _saved_prompt(bot)


async def test_guest_sees_a_summary_without_the_prompt_and_cannot_save(bot: Harness) -> None:
    view = await _open(bot, "U1")
    _, body = await bot.interact(submit(view, modal_values(system_prompt=PROMPT)))
    assert not body
    bot.slack.add_user("UG", is_restricted=True)
    summary = await _open(bot, "UG")
    assert "submit" not in summary and "SECRET-PROMPT-MARKER" not in json.dumps(summary)
    assert "System prompt: a custom one" in json.dumps(summary)
    assert texts.CONFIG_GUEST in json.dumps(summary)
    _, body = await bot.interact(submit(view, modal_values(preset="concise"), user="UG"))
    assert _errors(body) == {"preset": texts.CONFIG_GUEST}
    assert "SECRET-PROMPT-MARKER" in await _saved_prompt(bot), "the settings are unchanged"


async def test_person_from_another_organisation_cannot_change_settings(bot: Harness) -> None:
    bot.slack.add_user("UX", team_id="T9", is_stranger=True)
    summary = await _open(bot, "UX")
    assert texts.CONFIG_OUTSIDER in json.dumps(summary) and "submit" not in summary
    view = await _open(bot, "U1")
    payload = submit(view, modal_values(system_prompt=PROMPT), user="UX")
    payload["user"]["team_id"] = "T9"
    _, body = await bot.interact(payload)
    assert _errors(body) == {"preset": texts.CONFIG_OUTSIDER}
    assert "SECRET-PROMPT-MARKER" not in await _saved_prompt(bot)


async def test_config_editors_narrow_who_may_edit(harness: Harness) -> None:
    bot = await harness.start(config_editors="U1, admins")
    bot.slack.add_user("UA", is_admin=True)
    assert "submit" in await _open(bot, "U1")
    assert "submit" in await _open(bot, "UA")
    summary = await _open(bot, "U2")
    assert "submit" not in summary and texts.CONFIG_NOT_EDITOR in json.dumps(summary)
    view = await _open(bot, "U1")
    _, body = await bot.interact(submit(view, modal_values(system_prompt=PROMPT), user="U2"))
    assert _errors(body) == {"preset": texts.CONFIG_NOT_EDITOR}


async def test_allowed_models_are_the_modals_list_and_the_only_ones_accepted(
    harness: Harness,
) -> None:
    bot = await harness.start(allowed_models="small-model,big-model")
    view = await _open(bot)
    model = next(b for b in view["blocks"] if b.get("block_id") == "model")["element"]
    assert model["type"] == "static_select"
    assert [o["value"] for o in model["options"]] == ["-", "small-model", "big-model"]
    _, body = await bot.interact(submit(view, modal_values(model="any-model-i-like")))
    assert _errors(body) == {"model": texts.CONFIG_BAD_MODEL}
    values = modal_values()
    values["model"] = {
        "value": {
            "type": "static_select",
            "selected_option": {
                "text": {"type": "plain_text", "text": "big"},
                "value": "big-model",
            },
        }
    }
    _, body = await bot.interact(submit(view, values))
    assert not body
    await _saved_prompt(bot)
    assert bot.llm.requests[-1]["model"] == "big-model"


async def test_model_stored_before_allowed_models_is_not_used(bot: Harness) -> None:
    view = await _open(bot)
    _, body = await bot.interact(submit(view, modal_values(model="expensive-model")))
    assert not body
    await bot.restart(allowed_models="small-model")
    await _saved_prompt(bot)
    assert bot.llm.requests[-1]["model"] == "fake-model", "the bot's default, not the stored one"
