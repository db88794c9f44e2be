"""`alternate` shapes any history into what strict chat templates accept; the fake's check agrees."""

from __future__ import annotations

from typing import Any

from bot.llm.template import alternate
from bot.testing.template_rules import violations


def call(call_id: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}


def shape(messages: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(m["role"], m.get("content")) for m in messages]


def test_the_check_refuses_what_strict_templates_refuse() -> None:
    assert violations([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    assert violations(
        [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "system", "content": "continue"},
        ]
    )
    assert violations([{"role": "system", "content": "s"}, {"role": "assistant", "content": "b"}])
    assert violations(
        [{"role": "user", "content": "a"}, {"role": "tool", "tool_call_id": "x", "content": "r"}]
    )
    assert violations(
        [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": None, "tool_calls": [call("x")]},
            {"role": "tool", "tool_call_id": "x", "content": "r"},
            {"role": "user", "content": "b"},  # Mistral counts only the assistant's text
        ]
    )


def test_consecutive_user_messages_become_one_turn() -> None:
    shaped = alternate(
        [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "Ana: a"},
            {"role": "user", "content": "Ben: b"},
        ]
    )
    assert shape(shaped) == [("system", "s"), ("user", "Ana: a\n\nBen: b")]
    assert not violations(shaped)


def test_a_later_system_message_is_folded_into_the_first() -> None:
    shaped = alternate(
        [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "a"},
            {"role": "system", "content": "t"},
        ]
    )
    assert shape(shaped) == [("system", "s\n\nt"), ("user", "a")]


def test_a_thread_opened_by_the_bot_is_quoted_in_the_first_user_turn() -> None:
    shaped = alternate(
        [
            {"role": "system", "content": "s"},
            {"role": "assistant", "content": "Daily report: all green."},
            {"role": "user", "content": "why green?"},
        ]
    )
    assert [m["role"] for m in shaped] == ["system", "user"]
    assert "Daily report: all green." in shaped[1]["content"]
    assert shaped[1]["content"].endswith("why green?")
    assert not violations(shaped)


def test_two_assistant_texts_in_a_row_are_one_turn() -> None:
    shaped = alternate(
        [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "assistant", "content": "c"},
            {"role": "user", "content": "d"},
        ]
    )
    assert shape(shaped) == [("user", "a"), ("assistant", "b\n\nc"), ("user", "d")]


def test_tool_rounds_keep_their_order_and_may_end_the_request() -> None:
    history = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": None, "tool_calls": [call("x")]},
        {"role": "tool", "tool_call_id": "x", "content": "r"},
        {"role": "assistant", "content": None, "tool_calls": [call("y")]},
        {"role": "tool", "tool_call_id": "y", "content": "r"},
    ]
    assert alternate(history) == history
    assert not violations(history)


def test_a_tool_round_that_never_led_to_an_answer_is_replaced_by_its_text() -> None:
    shaped = alternate(
        [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "Let me look.", "tool_calls": [call("x")]},
            {"role": "tool", "tool_call_id": "x", "content": "r"},
            {"role": "user", "content": "b"},
        ]
    )
    assert shape(shaped) == [("user", "a"), ("assistant", "Let me look."), ("user", "b")]
    silent = alternate(
        [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": None, "tool_calls": [call("x")]},
            {"role": "tool", "tool_call_id": "x", "content": "r"},
            {"role": "user", "content": "b"},
        ]
    )
    assert shape(silent) == [("user", "a\n\nb")]


def test_list_contents_are_merged_as_parts() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}
    shaped = alternate(
        [{"role": "user", "content": [image]}, {"role": "user", "content": "what is it?"}]
    )
    assert shaped == [{"role": "user", "content": [image, {"type": "text", "text": "what is it?"}]}]
