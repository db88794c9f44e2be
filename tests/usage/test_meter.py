"""The usage meter on the bot's own stream events: server usage shapes and estimates."""

from __future__ import annotations

from bot.db.records import ThreadKey
from bot.llm.events import (
    ReasoningDelta,
    RoundDone,
    StreamRetry,
    TextDelta,
    ToolCall,
    ToolCallsReady,
)
from bot.usage.meter import UsageMeter


def meter_() -> UsageMeter:
    return UsageMeter("m", ThreadKey("T1", "C1", "1.0"), "U1", "1.0")


QUESTION = [{"role": "user", "content": "x" * 30}]  # 30 bytes: 10 + 4 overhead = 14 tokens


def test_usage_without_details_counts_no_reasoning_or_cached_tokens() -> None:
    meter = meter_()
    meter.asked(QUESTION, None)
    meter.saw(RoundDone("stop", {"prompt_tokens": 9, "completion_tokens": 4}))
    meter.finish()
    t = meter.tokens
    assert (t.prompt, t.completion, t.reasoning, t.cached, meter.estimated) == (9, 4, 0, 0, False)


def test_usage_chunk_with_only_zeros_is_estimated() -> None:
    meter = meter_()
    meter.asked(QUESTION, None)
    meter.saw(TextDelta("abcdef"))
    meter.saw(RoundDone("stop", {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}))
    assert (meter.tokens.prompt, meter.tokens.completion, meter.estimated) == (14, 2, True)


def test_usage_with_null_details_is_read() -> None:
    meter = meter_()
    meter.asked(QUESTION, None)
    usage = {
        "prompt_tokens": 5,
        "completion_tokens": 3,
        "prompt_tokens_details": None,
        "completion_tokens_details": {"reasoning_tokens": None},
    }
    meter.saw(RoundDone("stop", usage))
    assert (meter.tokens.total, meter.tokens.reasoning, meter.estimated) == (8, 0, False)


def test_broken_attempt_without_text_is_not_counted() -> None:
    meter = meter_()
    meter.asked(QUESTION, None)
    meter.saw(StreamRetry(attempt=1, reason="cut", delay=0))
    meter.saw(RoundDone("stop", {"prompt_tokens": 20, "completion_tokens": 2}))
    assert (meter.tokens.total, meter.rounds, meter.estimated) == (22, 2, False)


def test_stopped_round_with_text_is_estimated_at_the_end() -> None:
    meter = meter_()
    meter.asked(QUESTION, None)
    meter.saw(TextDelta("123456789"))
    meter.finish()
    meter.finish()  # counted once
    assert (meter.tokens.prompt, meter.tokens.completion, meter.estimated) == (14, 3, True)


def test_tool_calls_are_counted_and_their_arguments_estimated() -> None:
    meter = meter_()
    meter.asked(QUESTION, None)
    call = ToolCall("c1", "echo", '{"a":1}')  # 4 + 7 bytes
    meter.saw(ToolCallsReady((call, call)))
    meter.saw(RoundDone("tool_calls", None))
    assert (meter.tool_calls, meter.tokens.completion, meter.estimated) == (2, 8, True)


def test_reasoning_without_usage_is_estimated_as_completion_and_reasoning() -> None:
    meter = meter_()
    meter.asked(QUESTION, None)
    meter.saw(ReasoningDelta("r" * 3000))
    meter.saw(TextDelta("abc"))
    meter.saw(RoundDone("stop", None))
    t = meter.tokens
    assert (t.prompt, t.completion, t.reasoning, meter.estimated) == (14, 1001, 1000, True)


def test_a_reply_stopped_before_any_output_still_counts_its_prompt() -> None:
    meter = meter_()
    meter.asked(QUESTION, None)
    meter.finish(stopped=True)  # stopped while the model was still thinking, nothing received
    assert (meter.tokens.prompt, meter.tokens.completion, meter.estimated) == (14, 0, True)


def test_an_attempt_that_failed_before_any_output_is_not_counted() -> None:
    meter = meter_()
    meter.asked(QUESTION, None)
    meter.finish()  # a 401, a 404, retries exhausted: the server answered nothing
    assert (meter.tokens.total, meter.estimated) == (0, False)
