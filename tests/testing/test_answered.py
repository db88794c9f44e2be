"""The teardown invariant: replies told apart by turn, answers read from the model's streams."""

from __future__ import annotations

from typing import Any

from bot.slack.posted import part_metadata
from bot.testing.answered import answer_problems, answers, replies
from bot.testing.openai_answers import Streamed
from bot.testing.slack import Call


def post(ts: str, turn: str | None, part: int = 0) -> Call:
    args = {"channel": "C1", "metadata": part_metadata("r-" + str(turn), part)}
    return Call("chat.postMessage", args, 0.0, {"ok": True, "ts": ts}, 200, turn=turn)


def edit(method: str, ts: str, turn: str | None) -> Call:
    return Call(method, {"channel": "C1", "ts": ts}, 0.0, {"ok": True}, 200, turn=turn)


class Slack:
    """What `answer_problems` reads of the fake Slack: calls and the messages left."""

    def __init__(self, calls: list[Call], shown: dict[str, str]) -> None:
        self.calls = calls
        self.shown = shown

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        text = self.shown.get(ts)
        return None if text is None else {"ts": ts, "text": text, "markdown_text": text}


def test_turns_that_wrote_one_message_make_one_reply() -> None:
    start = Call(
        "chat.startStream", {"channel": "C1"}, 0.0, {"ok": True, "ts": "3.0"}, 200, turn="t3"
    )
    calls = [
        post("1.0", "t1"),
        post("2.0", "t1", 1),
        edit("chat.update", "2.0", "t2"),  # an approval's click carries the round on
        start,
        edit("chat.update", "3.0", None),  # written outside a turn (recovery)
    ]
    found = sorted(replies(calls), key=lambda r: r.messages[0])
    assert [(r.messages, r.turns, r.outside) for r in found] == [
        (["1.0", "2.0"], {"t1", "t2"}, False),
        (["3.0"], {"t3"}, True),
    ]


def test_answers_join_rounds_and_take_think_out() -> None:
    streams = [
        Streamed("t1", "<think>plan</think>Looking it up.", tool_calls=True, whole=True),
        Streamed("t2", "reasoning</think>\n\nFound it.", tool_calls=False, whole=True),
        Streamed("t9", "another reply's", tool_calls=False, whole=True),
    ]
    assert answers(streams, {"t1", "t2"}) == [
        "Looking it up.\n\nFound it.",
        "<think>plan</think>Looking it up.\n\nreasoning</think>\n\nFound it.",
    ]
    unfinished = [Streamed("t1", "cut", tool_calls=False, whole=False)]
    assert answers(unfinished, {"t1"}) is None


def test_a_reply_missing_text_or_showing_it_twice_is_reported() -> None:
    calls = [post("1.0", "t1"), post("2.0", "t1", 1)]
    streams = [Streamed("t1", "alpha beta gamma delta", tool_calls=False, whole=True)]
    assert answer_problems(Slack(calls, {"1.0": "alpha beta", "2.0": "gamma delta"}), streams) == []
    noted = {"1.0": "alpha beta", "2.0": "gamma delta\n\n_:scissors: cut at the output limit._"}
    assert answer_problems(Slack(calls, noted), streams) == []
    for shown in (
        {"1.0": "alpha", "2.0": "gamma delta"},
        {"1.0": "alpha beta", "2.0": "beta gamma delta"},
    ):
        assert answer_problems(Slack(calls, shown), streams), shown
    stopped = {"1.0": "alpha", "2.0": "_:black_square_for_stop: Stopped._"}
    assert answer_problems(Slack(calls, stopped), streams) == []  # ended early: not checked
