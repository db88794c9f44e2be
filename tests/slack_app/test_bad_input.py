"""Attack tests: bad input gets a clear refusal at bounded cost, never a traceback."""

from __future__ import annotations

import json
import logging

import pytest

from bot import texts
from bot.llm import sse, toolcalls
from bot.testing.harness import SECRET, Harness, text_of
from bot.testing.openai import Reply, text_reply, tool_call_reply
from bot.testing.signing import signed_headers
from bot.testing.toolchecks import results, results_by_name

NESTED = "[" * 100_000 + "]" * 100_000
ODD_BODIES = ["[1]", '{"authorizations":"x"}', NESTED, '{"event": {"a": ' + NESTED + "}}"]


@pytest.mark.parametrize("signed", [False, True])
async def test_odd_bodies_answer_4xx_with_one_log_line(
    bot: Harness, caplog: pytest.LogCaptureFixture, signed: bool
) -> None:
    caplog.set_level(logging.INFO)
    for body in ODD_BODIES:
        caplog.clear()
        headers = signed_headers(SECRET, body) if signed else {"Content-Type": "application/json"}
        status, _ = await bot.post_raw(body, headers)
        assert 400 <= status < 500, (body[:30], status)
        lines = [
            r
            for r in caplog.records
            if r.name.startswith(("bot", "aiohttp", "slack")) and r.name != "aiohttp.access"
        ]
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert lines[0].levelno < logging.ERROR and not lines[0].exc_info


async def test_deeply_nested_tool_arguments_become_a_tool_result(bot: Harness) -> None:
    args = '{"timezone": ' + "[" * 5000 + "]" * 5000 + "}"
    found = await results(bot, [("c1", "current_datetime", args)])
    (result,) = found["current_datetime"]
    assert result.startswith("Error: invalid arguments for current_datetime: arguments nest")


async def test_time_zone_directory_name_leaks_no_path(bot: Harness) -> None:
    calls = [
        ("c1", "current_datetime", '{"timezone": "America"}'),
        ("c2", "current_datetime", json.dumps({"timezone": "a" * 300})),
    ]
    found = (await results(bot, calls))["current_datetime"]
    for result in found:
        assert "Unknown time zone" in result and "site-packages" not in result
        assert ".venv" not in result and "zoneinfo/" not in result


async def test_oversized_tool_arguments_are_refused_with_a_result(bot: Harness) -> None:
    big = json.dumps({"timezone": "x" * (toolcalls.MAX_ARGUMENT_CHARS + 10)})
    bot.llm.script(
        tool_call_reply([("c1", "current_datetime", big)], fragment_size=4096),
        text_reply("Too big."),
    )
    event = await bot.mention("use a huge argument")
    await bot.wait_reply_done("C1", event["ts"])
    request = bot.llm.requests[-1]
    (result,) = results_by_name(request)["current_datetime"]
    assert "longer than 100,000 characters" in result
    assert len(json.dumps(request)) < 50_000, "the huge arguments are not sent back"


async def test_too_many_tool_calls_in_one_response_run_only_the_cap(harness: Harness) -> None:
    bot = await harness.start(max_tool_calls_per_round=3)
    calls = [(f"c{i}", "current_user", "{}") for i in range(5)]
    found = (await results(bot, calls))["current_user"]
    assert sum(r.startswith("Error: not run: 5 tool calls") for r in found) == 2
    assert sum('"user_id"' in r for r in found) == 3


async def test_model_line_that_never_ends_stops_with_a_clear_message(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sse, "MAX_EVENT_BYTES", 64 * 1024)
    first = b'data: {"choices":[{"index":0,"delta":{"content":"Partial"}}]}\n\n'
    bot.llm.script(Reply(wire=[first] + [b"data: " + b"x" * 8192] * 40))
    event = await bot.mention("hello")
    (reply,) = await bot.wait_reply_done("C1", event["ts"])
    assert text_of(reply) == "Partial\n\n" + texts.MODEL_EVENT_TOO_LARGE


async def test_deeply_nested_form_payload_answers_400(bot: Harness) -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": '{"type": "block_actions", "a": ' + "[" * 500 + "]" * 500 + "}"})
    headers = {**signed_headers(SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
    status, _ = await bot.post_raw(body, headers)
    assert status == 400
