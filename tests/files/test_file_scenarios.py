"""Files in questions, end to end: Slack events with files in, the real app, fakes recording."""

from __future__ import annotations

import base64
import io

from PIL import Image

from bot import texts
from bot.testing.documents import make_pdf, make_png
from bot.testing.file_questions import answered, ask_with_files
from bot.testing.harness import Harness, channel_message, dm, text_of
from bot.testing.openai import image_parts, text_reply

PDF = "application/pdf"


def last_user_text(bot: Harness, request: int = -1) -> str:
    content = bot.llm.requests[request]["messages"][-1]["content"]
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content


async def test_image_reaches_the_model_as_a_scaled_down_image_part(bot: Harness) -> None:
    bot.llm.script(text_reply("A red rectangle."))
    png = bot.slack.add_file("wide.png", make_png(3000, 1500), "image/png")
    event = await ask_with_files(bot, "what is this?", [png])
    assert await answered(bot, event) == "A red rectangle."
    [url] = image_parts(bot.llm.requests[-1])
    header, data = url.split(",", 1)
    assert header.startswith("data:image/") and header.endswith(";base64")
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    assert image.size == (2048, 1024), "long side scaled down to 2,048 px"
    assert "what is this?" in last_user_text(bot)
    [download] = bot.slack.downloads
    assert download.token == "xoxb-test-token" and download.status == 200


async def test_small_image_is_sent_as_it_is(bot: Harness) -> None:
    original = make_png(40, 30)
    png = bot.slack.add_file("small.png", original, "image/png")
    event = await ask_with_files(bot, "describe", [png])
    await answered(bot, event)
    [url] = image_parts(bot.llm.requests[-1])
    assert url == "data:image/png;base64," + base64.b64encode(original).decode()


async def test_pdf_text_goes_to_the_model_with_numbered_pages(bot: Harness) -> None:
    bot.llm.script(text_reply("It is about invoices."))
    pdf = make_pdf([["Invoice 2024-17", "Total: 420 EUR"], ["Paid on 3 March"]])
    file = bot.slack.add_file("invoice.pdf", pdf, PDF)
    event = await ask_with_files(bot, "summarise", [file])
    assert await answered(bot, event) == "It is about invoices."
    sent = last_user_text(bot)
    assert sent.startswith("summarise")
    assert "[Attached file: invoice.pdf]" in sent
    assert "[Page 1]\nInvoice 2024-17\nTotal: 420 EUR" in sent
    assert "[Page 2]\nPaid on 3 March" in sent
    assert not image_parts(bot.llm.requests[-1]), "a document is text, not an image"


async def test_text_file_in_a_legacy_charset_and_a_csv_are_read(bot: Harness) -> None:
    notes = bot.slack.add_file("notes.txt", "Café au lait, 3 €".encode("cp1252"), "text/plain")
    csv = bot.slack.add_file("sales.csv", b"region,amount\nnorth,12\nsouth,30\n", "text/csv")
    event = await ask_with_files(bot, "compare", [notes, csv])
    await answered(bot, event)
    sent = last_user_text(bot)
    assert "[Attached file: notes.txt]\nCafé au lait, 3 €" in sent
    assert "[Attached file: sales.csv]\nregion,amount\nnorth,12\nsouth,30" in sent


async def test_oversized_file_is_named_in_the_reply_and_not_downloaded(harness: Harness) -> None:
    bot = await harness.start(file_max_bytes=1000)
    bot.llm.script(text_reply("Answered from the text."))
    big = bot.slack.add_file("big.log", b"x" * 5000, "text/plain")
    event = await ask_with_files(bot, "look", [big])
    shown = await answered(bot, event)
    assert shown.startswith("Answered from the text.")
    reason = texts.FILE_TOO_LARGE.format(size="5 KB", limit="1 KB")
    assert texts.file_skipped("big.log", reason) in shown
    assert not bot.slack.downloads


async def test_unsupported_type_is_named_in_the_reply(bot: Harness) -> None:
    archive = bot.slack.add_file("code.zip", b"PK\x03\x04rest", "application/zip")
    event = await ask_with_files(bot, "unpack", [archive])
    shown = await answered(bot, event)
    assert texts.file_skipped("code.zip", texts.FILE_UNSUPPORTED.format(kind="ZIP")) in shown
    assert "[Attached" not in last_user_text(bot)


async def test_failed_download_is_named_and_the_question_still_answered(bot: Harness) -> None:
    bot.llm.script(text_reply("Here is what I can say."))
    file = bot.slack.add_file("report.pdf", make_pdf([["x"]]), PDF, gone=True)
    event = await ask_with_files(bot, "read it", [file])
    shown = await answered(bot, event)
    assert shown.startswith("Here is what I can say.")
    assert texts.file_skipped("report.pdf", texts.FILE_NOT_FOUND) in shown
    assert [d.status for d in bot.slack.downloads] == [404]


async def test_slow_download_gives_up_after_the_timeout(harness: Harness) -> None:
    bot = await harness.start(file_download_timeout=0.3)
    slow = bot.slack.add_file("slow.txt", b"late", "text/plain", delay=5.0)
    quick = bot.slack.add_file("quick.txt", b"on time", "text/plain")
    event = await ask_with_files(bot, "both", [slow, quick])
    shown = await answered(bot, event)
    assert texts.file_skipped("slow.txt", texts.FILE_DOWNLOAD_SLOW) in shown
    assert "[Attached file: quick.txt]\non time" in last_user_text(bot)


async def test_scanned_pdf_without_text_is_named_in_the_reply(bot: Harness) -> None:
    scan = bot.slack.add_file("scan.pdf", make_pdf([[], []]), PDF)
    event = await ask_with_files(bot, "what does it say", [scan])
    shown = await answered(bot, event)
    assert texts.file_skipped("scan.pdf", texts.FILE_NO_TEXT_PDF) in shown


async def test_slack_connect_file_the_bot_cannot_open_is_named(bot: Harness) -> None:
    external = bot.slack.add_file("partner.pdf", make_pdf([["secret"]]), PDF, other_org=True)
    event = await ask_with_files(bot, "read", [external])
    shown = await answered(bot, event)
    assert texts.file_skipped(external["id"], texts.FILE_OTHER_ORG) in shown
    assert bot.slack.calls_to("files.info"), "the partial file object is completed first"
    assert not bot.slack.downloads


async def test_download_answered_with_a_sign_in_page(bot: Harness) -> None:
    file = bot.slack.add_file("a.pdf", b"<html>sign in</html>", PDF, content_type="text/html")
    event = await ask_with_files(bot, "read", [file])
    shown = await answered(bot, event)
    assert texts.file_skipped("a.pdf", texts.FILE_LOGIN_PAGE) in shown


async def test_file_shared_in_another_conversation_is_not_read_for_the_asker(
    bot: Harness,
) -> None:
    # A partial file object (no URLs) is completed with files.info, which lists its shares.
    private = bot.slack.add_file("hr.txt", b"salaries", "text/plain", user="U9", channel="G9")
    event = await ask_with_files(bot, "read", [{"id": private["id"]}])
    shown = await answered(bot, event)
    assert texts.file_skipped(private["id"], texts.FILE_NOT_SHARED_HERE) in shown
    assert "salaries" not in str(bot.llm.requests[-1])
    assert not bot.slack.downloads


async def test_file_only_message_in_the_bots_thread_is_answered(bot: Harness) -> None:
    bot.llm.script(text_reply("Hello."), text_reply("The file says hi."))
    first = await bot.mention("hello")
    await bot.wait_reply_done("C1", first["ts"])
    file = bot.slack.add_file("hi.md", b"# hi there", "text/markdown")
    share = channel_message("", thread_ts=first["ts"])
    share.update(subtype="file_share", files=[file], upload=True)
    await bot.send(share)
    replies = await bot.wait_reply_done("C1", first["ts"], count=2)
    assert text_of(replies[-1]) == "The file says hi."
    assert "[Attached file: hi.md]\n# hi there" in last_user_text(bot)


async def test_imported_thread_brings_its_files(bot: Harness) -> None:
    spec = bot.slack.add_file("spec.txt", b"The limit is 42 requests.", "text/plain", user="U2")
    root = bot.slack.add_message("C1", "here is the spec", user="U2", files=[spec])
    bot.slack.add_message("C1", "thanks", user="U3", thread_ts=root)
    event = channel_message("<@UBOT> what is the limit?", thread_ts=root)
    await bot.send({**event, "type": "app_mention"})
    await bot.send(event)
    await bot.wait_reply_done("C1", root)
    messages = bot.llm.requests[-1]["messages"]
    earlier = messages[1]["content"]
    assert earlier.startswith("u2: here is the spec"), earlier  # labelled with the display name
    assert "[Attached file: spec.txt]\nThe limit is 42 requests." in earlier


async def test_follow_up_refers_to_a_file_sent_earlier(bot: Harness) -> None:
    bot.llm.script(text_reply("Got it."), text_reply("The code is 4711."))
    file = bot.slack.add_file("code.txt", b"door code 4711", "text/plain", channel="D1")
    first = dm("keep this")
    first.update(subtype="file_share", files=[file], upload=True)
    await bot.send(first)
    await bot.slack.wait_for(lambda: len(bot.llm.requests) == 1 and not bot.runtime.bot.tasks)
    await bot.send(dm("what was the door code?"))
    await bot.slack.wait_for(lambda: len(bot.llm.requests) == 2 and not bot.runtime.bot.tasks)
    history = bot.llm.requests[-1]["messages"]
    assert "[Attached file: code.txt]\ndoor code 4711" in history[1]["content"]
    assert history[-1] == {"role": "user", "content": "what was the door code?"}
    assert len(bot.slack.downloads) == 1, "read once, remembered from the database"


async def test_model_that_refuses_images_gets_the_question_again_without(bot: Harness) -> None:
    bot.llm.vision = False
    bot.llm.script(text_reply("I can only read the text."), text_reply("Still text only."))
    png = bot.slack.add_file("chart.png", make_png(10, 10), "image/png")
    event = await ask_with_files(bot, "what does the chart show?", [png])
    shown = await answered(bot, event)
    assert shown.startswith("I can only read the text.")
    assert shown.count(texts.VISION_REFUSED) == 1
    refused, retried = bot.llm.requests
    assert image_parts(refused) and not image_parts(retried)
    assert "what does the chart show?" in last_user_text(bot)
    # The next image question does not try again: the file line says why instead.
    png2 = bot.slack.add_file("chart2.png", make_png(10, 10), "image/png")
    second = await ask_with_files(bot, "and this one?", [png2])
    shown = await answered(bot, second)
    assert texts.file_skipped("chart2.png", texts.FILE_BLIND_MODEL) in shown
    assert texts.VISION_REFUSED not in shown
    assert len(bot.llm.requests) == 3 and not image_parts(bot.llm.requests[-1])
    # Nor are the images of earlier questions sent again in a follow-up.
    bot.llm.script(text_reply("Noted."))
    follow = channel_message("thanks", thread_ts=event["ts"])
    await bot.send(follow)
    replies = await bot.wait_reply_done("C1", event["ts"], count=2)
    assert texts.VISION_REFUSED not in text_of(replies[-1])
    assert len(bot.llm.requests) == 4 and not image_parts(bot.llm.requests[-1])


async def test_vision_false_never_sends_images(harness: Harness) -> None:
    bot = await harness.start(vision="false")
    png = bot.slack.add_file("photo.png", make_png(10, 10), "image/png")
    event = await ask_with_files(bot, "describe", [png])
    shown = await answered(bot, event)
    assert texts.file_skipped("photo.png", texts.FILE_VISION_OFF) in shown
    assert not image_parts(bot.llm.requests[-1]) and not bot.slack.downloads


async def test_long_document_is_cut_to_the_history_budget_with_notes(harness: Harness) -> None:
    bot = await harness.start(history_token_budget=1000)
    bot.llm.script(text_reply("Summary of the start."))
    log = bot.slack.add_file("server.log", b"line of log output\n" * 600, "text/plain")
    event = await ask_with_files(bot, "what happened?", [log])
    shown = await answered(bot, event)
    sent = last_user_text(bot)
    assert sent.startswith("what happened?")
    assert "[…server.log is cut here: only the first" in sent, "the model is told"
    assert "only the first" in shown and "`server.log`" in shown, "the user is told"
    total = sum(len(str(m["content"]).encode()) for m in bot.llm.requests[-1]["messages"])
    assert total // 3 <= 1000


async def test_files_beyond_the_per_question_cap_are_named(harness: Harness) -> None:
    bot = await harness.start(files_max_per_question=2)
    files = [bot.slack.add_file(f"n{i}.txt", f"note {i}".encode(), "text/plain") for i in range(3)]
    event = await ask_with_files(bot, "read all", files)
    shown = await answered(bot, event)
    assert texts.file_skipped("n2.txt", texts.FILE_TOO_MANY.format(count=2)) in shown
    sent = last_user_text(bot)
    assert "note 0" in sent and "note 1" in sent and "note 2" not in sent


async def test_with_files_turned_off_each_file_says_so(harness: Harness) -> None:
    bot = await harness.start(files_max_per_question=0)
    file = bot.slack.add_file("a.txt", b"hello", "text/plain")
    event = await ask_with_files(bot, "", [file])
    shown = await answered(bot, event)
    assert shown == texts.file_skipped("a.txt", texts.FILE_READING_OFF)
    assert not bot.llm.requests and not bot.slack.downloads
