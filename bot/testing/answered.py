"""Each reply in the fake Slack against what the fake model streamed for it (the invariant).

The bot names its turn on every HTTP call it makes within one (`X-Turn-Id`,
`bot.telemetry.scope`): the fake Slack keeps it on each call, the fake model on each
streamed answer. A reply is the messages its turns wrote: every `chat.postMessage` that
carries a reply part's metadata (`bot.slack.posted`) and every `chat.startStream`, joined
through the turns that edited, appended to, stopped or deleted them (a round carried on after
an approval runs in the turn of the click: it joins the same reply). Its answer is what the
fake model streamed for those turns, in order: each round's `content`, rounds joined as the
turn joins them, `<think>` blocks taken out. The messages left in Slack, in order, must show
that answer as rendered (`bot.testing.invariant.reply_problems`), possibly followed by the
notes a finished answer carries (`_:scissors: …`, the usage footer, unread files).

Not checked, because what the model answered for them cannot be known from the recordings: a
reply any of whose messages was written outside a turn (crash recovery and takeover run
without one), a reply whose turns got a model stream that did not end (cut, stalled,
resumed, or a verbatim wire body), a reply still streaming (a stream open, a Stop button
shown), and a reply that shows it ended early (stopped, timed out, failed, interrupted: then
only a leading part of the answer shows, which the tests of those endings check).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.slack.posted import REPLY_EVENT
from bot.slack.reply.format import to_slack
from bot.testing.invariant import reply_markdowns, reply_problems, shown_text, squash
from bot.testing.leftovers import stale_stop_buttons
from bot.testing.openai_answers import Streamed

WRITES = {"chat.update", "chat.appendStream", "chat.stopStream", "chat.delete"}
NOTE = "_:"  # how a note under a finished answer starts (squashed), e.g. `_:scissors:`
EARLY_ENDS = (":warning:", ":hourglass:", ":black_square_for_stop:", ":no_entry:")  # stopped, ...
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


@dataclass
class Reply:
    """The messages of one reply and the turns that wrote them."""

    channel: str
    messages: list[str] = field(default_factory=list)  # ts, in the order they were made
    turns: set[str] = field(default_factory=set)
    outside: bool = False  # a message was written outside any turn


def replies(calls: Iterable[Any]) -> list[Reply]:
    """Return the replies the recorded Slack calls made, each with its turns."""
    of_message: dict[tuple[str, str], Reply] = {}
    of_turn: dict[str, Reply] = {}
    for call in calls:
        if call.status != 200 or not call.response.get("ok"):
            continue
        channel = str(call.args.get("channel") or call.response.get("channel") or "")
        if call.method == "chat.startStream" or (
            call.method == "chat.postMessage"
            and (call.args.get("metadata") or {}).get("event_type") == REPLY_EVENT
        ):
            key = (channel, str(call.response.get("ts")))
            reply = of_turn.get(call.turn) if call.turn else None
            reply = reply or Reply(channel)
            reply.messages.append(key[1])
        elif call.method in WRITES and (channel, str(call.args.get("ts"))) in of_message:
            key = (channel, str(call.args.get("ts")))
            reply = of_message[key]
        else:
            continue
        of_message[key] = reply
        if call.turn is None:
            reply.outside = True
            continue
        other = of_turn.get(call.turn)
        if other is not None and other is not reply:  # one turn wrote to two: one reply
            reply = _merge(other, reply, of_message, of_turn)
        reply.turns.add(call.turn)
        of_turn[call.turn] = reply
    unique = {id(r): r for r in of_message.values()}
    return list(unique.values())


def _merge(
    first: Reply,
    second: Reply,
    of_message: dict[tuple[str, str], Reply],
    of_turn: dict[str, Reply],
) -> Reply:
    first.messages = sorted(set(first.messages + second.messages), key=float)
    first.turns |= second.turns
    first.outside = first.outside or second.outside
    for key, reply in of_message.items():
        if reply is second:
            of_message[key] = first
    for turn, reply in of_turn.items():
        if reply is second:
            of_turn[turn] = first
    return first


def answers(streams: list[Streamed], turns: set[str]) -> list[str] | None:
    """Return the answer the turns' model rounds make, in its readings; None when unknown."""
    rounds = [s for s in streams if s.turn in turns]
    if not rounds or any(not s.whole or s.resumes or s.text is None for s in rounds):
        return None
    texts = [s.text or "" for s in rounds]
    readings = [[_without_think(t) for t in texts], texts]
    return [_joined(r) for r in readings]


def _without_think(text: str) -> str:
    """Return `text` without its `<think>` blocks (a lone `</think>` ends what came before)."""
    while THINK_OPEN in text and THINK_CLOSE in text.split(THINK_OPEN, 1)[1]:
        head, rest = text.split(THINK_OPEN, 1)
        text = head + rest.split(THINK_CLOSE, 1)[1]
    if THINK_CLOSE in text and THINK_OPEN not in text:
        text = text.rsplit(THINK_CLOSE, 1)[1]
    return text.lstrip("\n")


def _joined(rounds: list[str]) -> str:
    """Join rounds as a turn shows them: a round after another starts a paragraph."""
    shown = ""
    for text in rounds:
        if text and shown and not shown.endswith(("\n", " ")):
            shown += "\n\n"
        shown += text
    return shown


def answer_problems(slack: Any, streams: list[Streamed]) -> list[str]:
    """Return how the replies in `slack` fail to show what the model answered for them."""
    problems = []
    for reply in replies(slack.calls):
        messages = [slack.message(reply.channel, ts) for ts in sorted(reply.messages, key=float)]
        messages = [m for m in messages if m is not None]  # deleted ones show nothing
        readings = None if reply.outside else answers(streams, reply.turns)
        streaming = any(m.get("streaming") for m in messages) or stale_stop_buttons(messages)
        if not messages or readings is None or streaming:
            continue  # unknown, or not ended: a stream open, a Stop button shown
        markdowns = reply_markdowns(messages)
        found = [_differs(markdowns, answer) for answer in readings]
        if all(found):
            problems.append(f"reply {reply.channel}/{messages[0]['ts']}: {found[0]}")
    return problems


def _differs(markdowns: list[str], answer: str) -> str:
    """Return how `markdowns` fail to show `answer` whole ("" when they show it)."""
    whole = reply_problems(markdowns, answer)
    if not whole:
        return ""
    expected = shown_text([to_slack(answer)])
    actual = shown_text(markdowns, expected)
    if actual.startswith(expected) and actual[len(expected) :].startswith(NOTE):
        return ""  # the notes a finished answer carries
    if any(squash(e) in actual and squash(e) not in expected for e in EARLY_ENDS):
        return ""  # it says it ended early: only a leading part of the answer shows
    return whole[0]
