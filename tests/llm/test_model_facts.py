"""What the bot learns about a model, through the real app: proof, contradiction, expiry."""

from __future__ import annotations

import html

import pytest

from bot import texts
from bot.llm.model_facts import NO_IMAGES, OPENS_THINK, ModelFacts
from bot.testing.documents import make_png
from bot.testing.file_questions import ask_with_files
from bot.testing.harness import Harness, text_of
from bot.testing.openai import error_reply, image_parts, text_reply
from bot.testing.stored import stored_replies

WIRE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
MARKUP = "Close the block with </think> once the reasoning is written."


async def ask(bot: Harness, text: str, *, channel: str, user: str) -> str:
    event = await bot.mention(text, channel=channel, user=user)
    replies = await bot.wait_reply_done(channel, event["ts"])
    return html.unescape(text_of(replies[0]))  # Slack's escaping of < and >


@WIRE_ONLY
async def test_one_answer_silences_the_model_for_everyone(bot: Harness) -> None:
    """Finding 1: an answer with a literal </think> must not change anyone's next answer."""
    bot.llm.script(
        text_reply(f"In that markup: {MARKUP}", pieces=6),
        text_reply("Paris is the capital of France.", pieces=4),
    )
    shown = await ask(bot, "how do I close a think block?", channel="C1", user="U1")
    assert shown == f"In that markup: {MARKUP}", "the sentence before the tag is kept"
    other = await ask(bot, "capital of France?", channel="C2", user="U2")
    assert other == "Paris is the capital of France."
    assert texts.INTERNAL_ERROR not in other


@WIRE_ONLY
async def test_two_markup_answers_in_a_row_then_a_plain_one_still_end_whole(bot: Harness) -> None:
    bot.llm.script(
        text_reply(f"First: {MARKUP}", pieces=5),
        text_reply(f"Again: {MARKUP}", pieces=5),
        text_reply("A plain answer, streamed while taken as reasoning.", pieces=6),
        text_reply("And the next one is plain too.", pieces=3),
    )
    await ask(bot, "think tags?", channel="C1", user="U1")
    await ask(bot, "think tags again?", channel="C2", user="U2")
    # Two answers in a row are taken as proof; the third contradicts it.
    plain = await ask(bot, "something else", channel="C3", user="U3")
    assert plain == "A plain answer, streamed while taken as reasoning."
    assert not _knows_think(bot), "the contradicting answer dropped the fact"
    assert await ask(bot, "more", channel="C4", user="U4") == "And the next one is plain too."
    contents = [r.content for r in await stored_replies(bot)]
    assert contents[2:] == [
        "A plain answer, streamed while taken as reasoning.",
        "And the next one is plain too.",
    ]


@WIRE_ONLY
async def test_model_that_opens_think_in_its_template_hides_reasoning_from_its_second_answer(
    bot: Harness,
) -> None:
    bot.llm.script(
        text_reply("Check 2, 3, 5, 7.</think>\n\nYes, 97 is prime.", pieces=9),
        text_reply("Check 3 and 29.</think>\n\nNo, 87 is 3 times 29.", pieces=9),
        text_reply("Check 2.</think>\n\nYes, 2 is prime.", pieces=5),
    )
    first = await ask(bot, "is 97 prime?", channel="C1", user="U1")
    assert first == "Check 2, 3, 5, 7.</think>\n\nYes, 97 is prime.", "one answer is no proof"
    assert await ask(bot, "is 87 prime?", channel="C2", user="U2") == "No, 87 is 3 times 29."
    assert await ask(bot, "is 2 prime?", channel="C3", user="U3") == "Yes, 2 is prime."
    contents = [r.content for r in await stored_replies(bot)]
    assert contents[1:] == ["No, 87 is 3 times 29.", "Yes, 2 is prime."]


@WIRE_ONLY
async def test_chat_template_reported_by_the_server_is_proof_from_the_first_answer(
    harness: Harness,
) -> None:
    harness.llm.chat_template = (
        "{%- if add_generation_prompt %}<|im_start|>assistant\n<think>\n{%- endif %}"
    )
    bot = await harness.start()
    bot.llm.script(text_reply("Check 2, 3, 5, 7.</think>\n\nYes, 97 is prime.", pieces=9))
    assert await ask(bot, "is 97 prime?", channel="C1", user="U1") == "Yes, 97 is prime."


def test_a_learned_fact_is_forgotten_after_its_time_to_live() -> None:
    clock = [0.0]
    facts = ModelFacts(ttl=60.0, now=lambda: clock[0])
    facts.learn("http://x/v1", "m", OPENS_THINK, "a template")
    clock[0] = 59.0
    assert facts.knows("http://x/v1", "m", OPENS_THINK)
    assert not facts.knows("http://x/v1", "other", OPENS_THINK), "keyed by model"
    assert not facts.knows("http://y/v1", "m", OPENS_THINK), "keyed by server"
    clock[0] = 61.0
    assert not facts.knows("http://x/v1", "m", OPENS_THINK)


def _knows_think(bot: Harness) -> bool:
    assert bot.runtime is not None and bot.runtime.bot is not None
    return bot.runtime.bot.dispatcher.model.knows(OPENS_THINK)


@WIRE_ONLY
async def test_an_error_that_does_not_name_images_does_not_make_the_model_blind(
    bot: Harness,
) -> None:
    bot.llm.script(
        error_reply(400, "Conversation roles must alternate user/assistant"),
        text_reply("A red square."),
    )
    png = bot.slack.add_file("a.png", make_png(10, 10), "image/png")
    first = await ask_with_files(bot, "what is this?", [png])
    await bot.wait_reply_done("C1", first["ts"])
    assert len(bot.llm.requests) == 1, "not asked again without the image"
    png2 = bot.slack.add_file("b.png", make_png(10, 10), "image/png")
    second = await ask_with_files(bot, "and this?", [png2], channel="C2")
    [reply] = await bot.wait_reply_done("C2", second["ts"])
    assert text_of(reply) == "A red square."
    assert image_parts(bot.llm.requests[-1]), "images still go to this model"
    assert not bot.runtime.bot.dispatcher.model.knows(NO_IMAGES)  # type: ignore[union-attr]


async def test_one_users_unsupported_image_does_not_make_the_model_blind(bot: Harness) -> None:
    """An error about one file (its format, its size) says nothing about the model."""
    bot.llm.script(
        error_reply(
            400,
            "You uploaded an unsupported image. Please make sure your image is below 20 MB "
            "in size and is of one the following formats: ['png', 'jpeg', 'gif', 'webp'].",
        ),
        text_reply("I could not look at that one."),
        text_reply("A red square."),
    )
    odd = bot.slack.add_file("odd.png", make_png(10, 10), "image/png")
    first = await ask_with_files(bot, "what is this?", [odd])
    [answer] = await bot.wait_reply_done("C1", first["ts"])
    assert len(bot.llm.requests) == 2 and not image_parts(bot.llm.requests[-1])
    assert texts.VISION_REFUSED not in text_of(answer)
    assert texts.IMAGES_REFUSED in text_of(answer)
    png = bot.slack.add_file("b.png", make_png(10, 10), "image/png")
    second = await ask_with_files(bot, "and this?", [png], channel="C2", user="U2")
    [reply] = await bot.wait_reply_done("C2", second["ts"])
    assert text_of(reply) == "A red square."
    assert image_parts(bot.llm.requests[-1]), "another user's image still goes to the model"
    assert not bot.runtime.bot.dispatcher.model.knows(NO_IMAGES)  # type: ignore[union-attr]
