"""history.fit keeps tool calls and their results together, and keeps the current question."""

from __future__ import annotations

from bot.llm import history
from bot.testing.toolchecks import assert_valid_tool_sequence


def call(call_id: str, size: int = 10) -> dict:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "blob", "arguments": '{"n": "' + "a" * size + '"}'},
    }


def round_(ids: list[str], result_size: int, arg_size: int = 10) -> list[dict]:
    calls = [call(i, arg_size) for i in ids]
    return [
        {"role": "assistant", "content": None, "tool_calls": calls},
        *({"role": "tool", "tool_call_id": i, "content": "r" * result_size} for i in ids),
    ]


def roles(messages: list[dict]) -> list[str]:
    return [m["role"] for m in messages]


def test_an_older_round_is_dropped_whole_when_it_does_not_fit() -> None:
    chat = [
        {"role": "user", "content": "q1"},
        *round_(["a", "b"], 300, arg_size=600),
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
    ]
    fitted = history.fit("sys", chat, 400)
    assert_valid_tool_sequence(fitted)
    # The answer "a1" would fit, but without its question it would open the conversation
    # with the assistant, which strict chat templates refuse.
    assert roles(fitted) == ["system", "user"]


def test_the_current_rounds_results_are_cut_before_the_question_is_lost() -> None:
    chat = [{"role": "user", "content": "question"}, *round_(["a"], 3000)]
    fitted = history.fit("sys", chat, 300)
    assert_valid_tool_sequence(fitted)
    assert roles(fitted) == ["system", "user", "assistant", "tool"]
    assert fitted[-1]["content"].endswith(history.texts.TRUNCATED_INPUT)
    assert sum(history.message_tokens(m) for m in fitted) <= 300


def test_a_round_whose_calls_alone_do_not_fit_is_left_out() -> None:
    chat = [
        {"role": "user", "content": "question"},
        *round_(["a"], 10, arg_size=3000),
        *round_(["b"], 10),
    ]
    fitted = history.fit("sys", chat, 300)
    assert_valid_tool_sequence(fitted)
    assert roles(fitted) == ["system", "user", "assistant", "tool"]
    assert fitted[2]["tool_calls"][0]["id"] == "b"


def test_orphans_and_unanswered_calls_are_removed() -> None:
    chat = [
        {"role": "tool", "tool_call_id": "x", "content": "orphan"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "partial", "tool_calls": [call("a"), call("b")]},
        {"role": "tool", "tool_call_id": "a", "content": "only one result"},
        {"role": "user", "content": "q2"},
    ]
    fitted = history.fit("sys", chat, 8000)
    assert_valid_tool_sequence(fitted)
    assert [(m["role"], m["content"]) for m in fitted[1:]] == [
        ("user", "q"),
        ("assistant", "partial"),
        ("user", "q2"),
    ]
