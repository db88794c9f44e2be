"""JSON logs through the real app: turn ids on every line, no secrets, text only on request."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.telemetry import logs
from bot.testing.harness import SECRET, Harness
from bot.testing.openai import error_reply, text_reply

QUESTION = "my secret plan is purple elephants"


@pytest.fixture
def json_log() -> Iterator[tuple[io.StringIO, dict]]:
    """Route the root logger into a buffer as JSON lines, then restore it."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    buffer = io.StringIO()
    options: dict = {}

    def configure(**kw: object) -> None:
        logs.configure(
            "INFO",
            fmt="json",
            secrets=("xoxb-test-token", "sk-test", SECRET),
            stream=buffer,
            **kw,  # type: ignore[arg-type]
        )

    options["configure"] = configure
    configure()
    try:
        yield buffer, options
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
        logs.configure.__globals__["_allow_text"] = False


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


async def test_json_logs_carry_turn_ids_and_never_message_text(
    bot: Harness, json_log: tuple[io.StringIO, dict]
) -> None:
    buffer, _ = json_log
    bot.llm.script(error_reply(500, "boom"), error_reply(500, "boom"), error_reply(500, "boom"))
    event = await bot.mention(QUESTION)
    await bot.wait_reply_done("C1", event["ts"])
    records = lines(buffer)
    in_turn = [r for r in records if r.get("turn_id")]
    assert in_turn, records
    assert {r["team_id"] for r in in_turn} == {"T1"}
    assert {r["channel_id"] for r in in_turn} == {"C1"}
    failed = [r for r in in_turn if r["level"] == "WARNING" and r["logger"] == "bot.turns.turn"]
    assert failed, "the model failure is logged inside the turn"
    started = [r for r in in_turn if r["message"].startswith("turn for message")]
    assert failed[0]["turn_id"] in {r["turn_id"] for r in started}
    text = buffer.getvalue()
    assert "purple elephants" not in text
    assert f"<{len(event['text'])} chars>" in text
    for secret in ("xoxb-test-token", "sk-test", SECRET):
        assert secret not in text


async def test_log_message_text_setting_allows_the_text(
    bot: Harness, json_log: tuple[io.StringIO, dict]
) -> None:
    buffer, options = json_log
    options["configure"](allow_message_text=True)
    bot.llm.script(text_reply("ok"))
    event = await bot.mention(QUESTION)
    await bot.wait_reply_done("C1", event["ts"])
    assert any("purple elephants" in r["message"] for r in lines(buffer))


def test_token_shaped_strings_are_masked_whoever_logs_them() -> None:
    masker = logs.RedactSecrets(["hunter2-password"])
    line = "auth xoxb-1234-5678-abcdefgh and sk-proj-abcdefghijklmnopqrstu and hunter2-password"
    assert masker.mask(line) == "auth [secret] and [secret] and [secret]"
