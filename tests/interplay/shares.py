"""Shares and image refusals in the interplay machine (issue 22, items 5 and 1).

A share: someone runs the Summarize shortcut on a public thread (the summary, in their DM,
reads one linked message with a tool: a public one, or a private channel's), then clicks
"Post in the thread". The scripted model repeats what its tool read, so a private message
that got through would show up in the public thread (`SECRET-`).

An image refusal: a question with a PNG while the model server takes no images
(`FakeOpenAI.vision = False`, llama-server's 400). The bot asks again without the image,
learns "cannot take images", and must forget it once an answer takes an image again (the
server may gain a projector; the fact's time to live, driven here by a clock of the
machine, lets images be tried again).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from bot import texts
from bot.llm.model_facts import NO_IMAGES
from bot.slack_app.share import POST_ACTION
from bot.slack_app.shortcuts import SUMMARIZE
from bot.testing.documents import make_png
from bot.testing.harness import text_of
from bot.testing.interactive import click, element, message_shortcut
from bot.testing.openai import Reply, image_parts, text_reply, tool_call_reply
from bot.testing.toolchecks import link

SUMMARY_ASK = "Summarize this Slack thread"
SECRET_NOTE = "SECRET-share: the merger closes Friday"
PUBLIC_C, PRIVATE_C, USERS_ = "C1", "G1", ("U1", "U2")
SUMMARY_USAGE = {"prompt_tokens": 300, "completion_tokens": 100}
TOKEN = re.compile(r"\bq(\d+)\b")


def last_user_token(body: dict[str, Any]) -> int | None:
    """Return the question number of a request whose last message is a user's, else None."""
    messages = body.get("messages") or []
    if not messages or messages[-1].get("role") != "user":
        return None
    content = messages[-1].get("content")
    if isinstance(content, list):  # text parts only: an image's base64 may hold "q12"
        content = " ".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
    text = content if isinstance(content, str) else str(content)
    if SUMMARY_ASK in text:
        return None  # a summary quotes the thread's questions; it answers none of them
    found = TOKEN.findall(text)
    return int(found[-1]) if found else None


class SharesAndImages:
    """Rules and checks for shares and image refusals (mixed into `Interplay`)."""

    # Set up by `Interplay`; listed here for the type checker.
    slack: Any
    llm: Any
    bot: Any
    questions: dict[int, Any]
    roots: list[Any]
    run: Any
    _new: Any
    _send: Any

    def _prepare_extras(self) -> None:
        self.secret_ts = self.slack.add_message(PRIVATE_C, SECRET_NOTE, "U9")
        self.reads_private: dict[int, bool] = {}  # root question -> its summaries read G1
        self.clicked: dict[tuple[str, str], bool] = {}  # (dm, offer ts) -> read G1
        self.accepted_images: dict[int, int] = {}  # request index -> question
        self.facts_offset = 0.0
        self.held: dict[int, asyncio.Event] = {}  # question -> its answer waits for this
        assert self.bot.runtime is not None and self.bot.runtime.bot is not None
        self.model = self.bot.runtime.bot.dispatcher.model
        # The facts' clock: `image_question(aged=True)` moves it past the time to live.
        self.model.facts._now = lambda: time.monotonic() + self.facts_offset

    def summary_reply(self, body: dict[str, Any]) -> Reply | None:
        """Return the model's reply when `body` is a summary's request, else None."""
        messages = body.get("messages") or []
        asked = next((str(m.get("content")) for m in messages if m.get("role") == "user"), "")
        if SUMMARY_ASK not in asked:
            return None
        if messages[-1].get("role") == "tool":  # repeat what the tool read
            read = str(messages[-1].get("content"))[:400].replace("\n", " ")
            return text_reply(f"- The thread links a message: {read}", usage=SUMMARY_USAGE)
        root = next(
            (q for q in self.questions.values() if q.ts == q.thread_ts and f"q{q.n} " in asked),
            None,
        )
        private = root is not None and self.reads_private.get(root.n, False)
        where = (
            link(PRIVATE_C, self.secret_ts) if private else link(PUBLIC_C, root.ts if root else "")
        )
        call = ("s1", "read_slack_message", json.dumps({"permalink": where}))
        return tool_call_reply([call], usage=SUMMARY_USAGE)

    def saw_image(self, body: dict[str, Any], n: int | None) -> None:
        """Note a request with images that the server took (it reached the responder)."""
        if n is not None and image_parts(body):
            self.accepted_images[len(self.llm.requests) - 1] = n

    def refused_images(self) -> dict[int, int | None]:
        """Return the requests with images the server refused: index -> question."""
        return {
            i: last_user_token(body)
            for i, body in enumerate(self.llm.requests)
            if image_parts(body) and i not in self.accepted_images
        }

    # Rules.

    @precondition(lambda self: any(q.channel == PUBLIC_C for q in self.roots))
    @rule(
        pick=st.integers(0, 99),
        user=st.sampled_from(USERS_),
        private=st.booleans(),
        post=st.booleans(),
    )
    def share(self, pick: int, user: str, private: bool, post: bool) -> None:
        """Summarize a public thread; with `post`, click "Post in the thread" once offered."""
        roots = [q for q in self.roots if q.channel == PUBLIC_C]
        root = roots[pick % len(roots)]
        self.reads_private.setdefault(root.n, private)  # one source per thread
        thread = {"channel": PUBLIC_C, "ts": root.ts, "thread_ts": root.ts, "user": root.user}
        self.run(self.bot.interact(message_shortcut(SUMMARIZE, thread, user=user)))
        if post:
            self.run(self._click_an_offer(pick))

    def _offers(self) -> list[tuple[str, dict[str, Any]]]:
        """Return the "Post in the thread" offers not clicked yet, with their DM's user."""
        return [
            (user, m)
            for user in USERS_
            for m in self.slack.bot_messages(self.slack.dm_of(user))
            if element(m, POST_ACTION) is not None and (m["channel"], m["ts"]) not in self.clicked
        ]

    async def _click_an_offer(self, pick: int) -> None:
        """Wait a bounded while (the bot running) for an offer, and click it as its reader."""
        for _ in range(40):  # a summary ends in well under a second when it is offered
            if self._offers():
                break
            await asyncio.sleep(0.05)
        offers = self._offers()
        if not offers:
            return  # e.g. the summary was refused by the daily limit, or stopped
        user, offer = offers[pick % len(offers)]
        # What this summary's tool really read (the scripted model repeats it).
        summary = [text_of(m) for m in self.slack.replies(offer["channel"], offer["thread_ts"])]
        read_private = any(f'"channel_id": "{PRIVATE_C}"' in s for s in summary)
        self.clicked[(offer["channel"], offer["ts"])] = read_private
        await self.bot.interact(click(offer, POST_ACTION, user=user))

    @rule(
        user=st.sampled_from(USERS_),
        vision=st.booleans(),
        aged=st.booleans(),
        fault=st.sampled_from(("none", "slow")),
    )
    def image_question(self, user: str, vision: bool, aged: bool, fault: str = "none") -> None:
        if aged:
            self.facts_offset += self.model.facts.ttl + 1
        self.llm.vision = vision  # the server loses or gains its image input
        question = self._new(PUBLIC_C, user, fault)
        question.image = True
        self.roots.append(question)
        png = self.slack.add_file(f"chart{question.n}.png", make_png(8, 8), "image/png")
        self.run(self._send(question, twice=False, files=[png]))

    # Checks (the bot settled).

    def no_fact_outlives_its_contradiction(self) -> None:
        """Known "cannot take images": no whole answer took images after the last refusal."""
        if not self.model.knows(NO_IMAGES):
            return
        last_refusal = max(self.refused_images(), default=-1)
        shown = [text_of(m) for m in self.slack.bot_messages(PUBLIC_C)]
        took = [
            (i, n)
            for i, n in self.accepted_images.items()
            if i > last_refusal
            and any(f"Answer {n} " in s and "w11" in s and "Stopped" not in s for s in shown)
        ]
        assert not took, f"still believed blind after answers took images: {took}"

    def an_image_refusal_never_costs_the_answer(self) -> None:
        for n in {n for n in self.refused_images().values() if n is not None}:
            question = self.questions[n]
            if question.deleted:
                continue
            shown = [text_of(m) for m in self.slack.replies(question.channel, question.thread_ts)]
            clear = (f"Answer {n} ", "daily limit", "Stopped.")
            assert any(c in s for s in shown for c in clear), (question, shown)

    async def shares_keep_the_boundary(self) -> None:
        """Each click ends posted (a public source) or refused (a private one)."""
        done = (texts.POST_SUMMARY_PRIVATE, texts.POST_SUMMARY_DONE)
        for (dm, ts), private in self.clicked.items():
            await self.slack.wait_for(
                lambda dm=dm, ts=ts: self.slack.message(dm, ts)["text"] in done,
                timeout=30,
                what=f"the share {ts} settled",
            )
            said = self.slack.message(dm, ts)["text"]
            want = texts.POST_SUMMARY_PRIVATE if private else texts.POST_SUMMARY_DONE
            assert said == want, f"share of a {'private' if private else 'public'} read: {said}"
