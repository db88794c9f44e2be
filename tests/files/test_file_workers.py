"""File workers isolate failures, through the real app: one file's trouble costs that file."""

from __future__ import annotations

import pytest

from bot import texts
from bot.files.workers import Extractors
from bot.testing.file_questions import ask_with_files
from bot.testing.harness import Harness, text_of
from bot.testing.openai import text_reply
from bot.testing.troubled_files import HUNGRY, STUCK, troubled_extract, zip_bomb

WIRE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def extractors(bot: Harness) -> Extractors:
    assert bot.runtime is not None and bot.runtime.files is not None
    return bot.runtime.files.extractors


def sent_to_model(bot: Harness, needle: str) -> bool:
    return any(needle in str(r["messages"]) for r in bot.llm.requests)


@WIRE_ONLY
async def test_file_that_times_out_resets_the_worker_pool(harness: Harness) -> None:
    """Review finding: a stuck file cancelled the jobs queued behind it (other users' turns)."""
    bot = await harness.start(file_workers=1, file_read_timeout=3.0)
    extractors(bot).target = troubled_extract
    bot.llm.script(text_reply("Could not read it."), text_reply("The number is 42."))
    stuck = bot.slack.add_file("stuck.txt", STUCK + b" forever", "text/plain")
    innocent = bot.slack.add_file("numbers.txt", b"Quarterly number: 42", "text/plain")
    first = await ask_with_files(bot, "read this", [stuck], user="U1")
    await bot.slack.wait_for(lambda: len(bot.slack.downloads) == 1)  # it holds the one worker
    second = await ask_with_files(bot, "and this", [innocent], user="U2", channel="C2")
    [other] = await bot.wait_reply_done("C2", second["ts"], timeout=30)
    [mine] = await bot.wait_reply_done("C1", first["ts"], timeout=30)
    # The innocent file waited for the worker, but that wait was not its timeout: it was read.
    assert text_of(other) == "The number is 42."
    assert sent_to_model(bot, "Quarterly number: 42")
    # The stuck one became a skip note for that file, not a cancelled turn.
    assert texts.file_skipped("stuck.txt", texts.FILE_READ_SLOW) in text_of(mine)
    assert texts.NOT_ANSWERED not in text_of(mine) + text_of(other)
    assert extractors(bot).replaced == 1, "only the stuck worker was ended"


@WIRE_ONLY
async def test_worker_runs_under_a_memory_limit(harness: Harness) -> None:
    bot = await harness.start(file_workers=1, file_worker_memory_mb=512)
    extractors(bot).target = troubled_extract
    hungry = bot.slack.add_file("hungry.txt", HUNGRY + b" for memory", "text/plain")
    fine = bot.slack.add_file("fine.txt", b"small and fine", "text/plain")
    event = await ask_with_files(bot, "read both", [hungry, fine])
    [reply] = await bot.wait_reply_done("C1", event["ts"], timeout=30)
    assert texts.file_skipped("hungry.txt", texts.FILE_OUT_OF_MEMORY) in text_of(reply)
    assert sent_to_model(bot, "small and fine"), "the same worker read the next file"
    assert extractors(bot).replaced == 0


@WIRE_ONLY
@pytest.mark.parametrize("workers", [0, 1])
@pytest.mark.parametrize(("name", "mimetype", "member"), [
    ("bomb.docx", DOCX, "word/document.xml"),
    ("bomb.xlsx", XLSX, "xl/worksheets/sheet1.xml"),
])  # fmt: skip
async def test_docx_and_xlsx_are_parsed_without_checking_their_uncompressed_size(
    harness: Harness, workers: int, name: str, mimetype: str, member: str
) -> None:
    """Review finding: a small zip inflated to gigabytes inside the worker (or the bot)."""
    bot = await harness.start(file_workers=workers)
    bomb = bot.slack.add_file(name, zip_bomb(member, 64 * 1024 * 1024), mimetype)
    event = await ask_with_files(bot, "summarise", [bomb])
    [reply] = await bot.wait_reply_done("C1", event["ts"], timeout=30)
    shown = text_of(reply)
    assert f"{name}" in shown and "compressed" in shown and "to 1" in shown, shown
    assert not sent_to_model(bot, f"[Attached file: {name}]")


@WIRE_ONLY
async def test_an_idle_worker_that_died_does_not_cost_the_next_file(harness: Harness) -> None:
    """A worker killed while idle (the OOM killer, an operator) is replaced, not used."""
    bot = await harness.start(file_workers=1)
    bot.llm.script(text_reply("First read."), text_reply("Second read."))
    first_file = bot.slack.add_file("one.txt", b"first file text", "text/plain")
    first = await ask_with_files(bot, "read this", [first_file])
    await bot.wait_reply_done("C1", first["ts"], timeout=30)
    [idle] = extractors(bot)._idle
    idle.process.kill()
    idle.process.join(timeout=10)
    second_file = bot.slack.add_file("two.txt", b"second file text", "text/plain")
    second = await ask_with_files(bot, "and this", [second_file], channel="C2")
    [reply] = await bot.wait_reply_done("C2", second["ts"], timeout=30)
    assert texts.FILE_READER_DIED not in text_of(reply)
    assert sent_to_model(bot, "second file text"), "the file was read by a new worker"
