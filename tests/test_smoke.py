from tests.fakes.openai import text_reply
from tests.harness import Harness, text_of


async def test_mention_is_answered_in_thread(bot: Harness) -> None:
    bot.llm.script(text_reply("Hello there, this is a streamed answer.", pieces=6, delay=0.05))
    event = await bot.mention("hi")
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert len(replies) == 1
    assert text_of(replies[0]) == "Hello there, this is a streamed answer."
