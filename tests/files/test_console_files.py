"""`/file PATH` in the console attaches a local file to the next question."""

from __future__ import annotations

from pathlib import Path

from bot.testing.console import run_console
from bot.testing.documents import make_pdf
from bot.testing.openai import FakeOpenAI, text_reply


async def test_console_file_goes_with_the_next_question(llm: FakeOpenAI, tmp_path: Path) -> None:
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(make_pdf([["Step 1: ship it"]]))
    llm.script(text_reply("Ship it."), text_reply("No file this time."))
    stdin = f"/file {pdf}\n/file {tmp_path / 'missing.txt'}\nwhat is step 1?\nand now?\n"
    code, out, err = await run_console(llm, tmp_path / "console.db", stdin)
    assert code == 0, err
    assert "Attached plan.pdf" in out and "No such file" in out
    first, second = llm.requests
    asked = first["messages"][-1]["content"]
    assert asked.startswith("what is step 1?")
    assert "[Attached file: plan.pdf]\n[Page 1]\nStep 1: ship it" in asked
    assert second["messages"][-1] == {"role": "user", "content": "and now?"}
