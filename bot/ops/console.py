"""`python -m bot console`: chat with the bot in a terminal, without a Slack workspace.

The turn runs through the same pipeline as in Slack (claim, history in the database, tools,
the model loop, the throttled StreamingReply and SlackWriter), except that the Slack Web API
is a small in-process stand-in: `TerminalSlack` keeps the messages the bot posts and edits and
draws them in the terminal as they change. Ctrl-C while an answer streams stops it (like the
Stop button); Ctrl-D or `/quit` at the prompt leaves; `/file PATH` attaches a file to the
next question. No SLACK_* variable is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import mimetypes
import shutil
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.clock import SystemClock
from bot.db.engine import create_engine
from bot.db.migrate import upgrade_async
from bot.db.store import Store
from bot.files.download import LocalFiles
from bot.llm.client import openai_client
from bot.settings import Settings
from bot.slack.budget import EditBudget
from bot.slack.reply.format import from_slack
from bot.slack.reply.markup import markdown_of
from bot.slack.writer import SlackWriter
from bot.tools.loading import build_registry
from bot.tools.mcp import config as mcp_config
from bot.tools.mcp.supervisor import McpSupervisor
from bot.turns.channel_settings import ChannelSettings
from bot.turns.dispatcher import Dispatcher
from bot.turns.request import TurnRequest
from bot.wiring.builders import chat_model, edit_limits, file_reader, turn_config

logger = logging.getLogger(__name__)

TEAM, CHANNEL, USER, BOT_USER = "TCONSOLE", "DCONSOLE", "UCONSOLE", "UCONSOLEBOT"
DIM, RESET = "\x1b[2m", "\x1b[0m"


class TerminalSlack:
    """Answer the Slack Web API calls of a turn, drawing the bot's messages as they change."""

    def __init__(self, out: TextIO, *, live: bool) -> None:
        self.out = out
        self.live = live
        self.messages: dict[str, str] = {}  # ts -> Markdown shown, in posting order
        self.status = ""
        self.edits = 0
        self._ts = itertools.count(1)
        self._drawn = 0  # terminal lines of the current turn on screen

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """Apply one Web API call and return Slack's answer for it."""
        if method == "chat.postMessage":
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            self.messages[ts] = self._shown(args)
            self._draw()
            return {"ok": True, "channel": args.get("channel"), "ts": ts}
        if method == "chat.update":
            if args.get("ts") not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            self.messages[args["ts"]] = self._shown(args)
            self.edits += 1
            self._draw()
            return {"ok": True, "channel": args.get("channel"), "ts": args["ts"]}
        if method == "assistant.threads.setStatus":
            self.status = str(args.get("status") or "")
            self._draw()
            return {"ok": True}
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "team_id": TEAM, "bot_id": "BCONSOLE"}
        if method == "users.info":
            return {"ok": True, "user": {"id": args.get("user"), "name": "you", "tz": "UTC"}}
        return {"ok": False, "error": "not_available_in_console"}

    def end_turn(self) -> None:
        """Leave the finished answer on screen and start a fresh area for the next one."""
        if not self.live:
            self.out.write("\n\n".join(self.messages.values()) + "\n")
        self.out.write("\n")
        self.out.flush()
        self.messages.clear()
        self.status = ""
        self._drawn = 0

    @staticmethod
    def _shown(args: dict[str, Any]) -> str:
        return from_slack(markdown_of(args))

    def _draw(self) -> None:
        if not self.live:
            return
        width = max(20, shutil.get_terminal_size((100, 20)).columns)
        text = "\n\n".join(self.messages.values())
        if self.status:
            text += f"\n{DIM}bot {self.status}{RESET}"
        lines = text.split("\n")
        # Go back to where this turn's output began, clear it, and draw the new state.
        move = f"\x1b[{self._drawn}F" if self._drawn else "\r"
        self.out.write(move + "\x1b[J" + text + "\n")
        self.out.flush()
        self._drawn = sum(max(1, -(-len(line) // width)) for line in lines)


class ConsoleClient(AsyncWebClient):
    """An AsyncWebClient whose every call is answered in process by `TerminalSlack`."""

    def __init__(self, terminal: TerminalSlack) -> None:
        super().__init__(token="xoxb-console")
        self.terminal = terminal

    async def api_call(  # type: ignore[override]
        self, api_method: str, *, http_verb: str = "POST", json: Any = None, **kwargs: Any
    ) -> AsyncSlackResponse:
        """Answer `api_method` locally; raise SlackApiError for an error like the real client."""
        args = dict(json or kwargs.get("params") or kwargs.get("data") or {})
        data = self.terminal.answer(api_method, args)
        response = AsyncSlackResponse(
            client=self,
            http_verb=http_verb,
            api_url=f"console://{api_method}",
            req_args={"json": args},
            data=data,
            headers={},
            status_code=200,
        )
        return response.validate()


class _Lines:
    """Read stdin lines on a daemon thread, so Ctrl-C never waits for Enter."""

    def __init__(self, stream: TextIO) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def pump() -> None:
            for line in stream:
                loop.call_soon_threadsafe(self.queue.put_nowait, line.rstrip("\n"))
            loop.call_soon_threadsafe(self.queue.put_nowait, None)

        threading.Thread(target=pump, name="console-stdin", daemon=True).start()

    async def next(self) -> str | None:
        return await self.queue.get()


async def run_console(
    settings: Settings,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    thread: str | None = None,
) -> int:
    """Chat in the terminal until end of input; return the exit code."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    live = out.isatty()
    terminal = TerminalSlack(out, live=live)
    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    store = Store(engine)
    client = ConsoleClient(terminal)
    writer = SlackWriter(client, clock=SystemClock())
    llm = openai_client(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        max_retries=settings.openai_max_retries,
        timeout=settings.openai_timeout,
    )
    budget = EditBudget(
        edit_limits(settings),
        paused_for=writer.paused_for,
    )
    tools = build_registry(
        modules=settings.tool_modules,
        builtins=settings.builtin_tools,
        timeout=settings.tool_timeout,
        result_limit=settings.history_token_budget * 3 // 2,
    )
    mcp = McpSupervisor(
        mcp_config.load(settings.mcp_servers),
        start_wait=settings.mcp_start_wait,
        images=settings.tool_images,
    )
    await mcp.start(tools)
    config = turn_config(settings)
    config.reply = replace(config.reply, mode="update")  # a terminal shows edits, no native streams
    config.reply_buttons = False
    dispatcher = Dispatcher(
        store=store,
        model=(model := chat_model(settings, llm)),
        writer=writer,
        client=client,
        config=config,
        bot_user_id=BOT_USER,
        tools=tools,
        budget=budget,
        channels=ChannelSettings(store, default_prompt=settings.system_prompt),
        files=(files := file_reader(settings, local := LocalFiles())),
    )
    attached: list[dict[str, Any]] = []
    thread_ts = thread or _new_ts()
    out.write(
        f"Chatting with {settings.openai_model} (thread {thread_ts}; resume it with "
        f"--thread {thread_ts}). Ctrl-C stops an answer, Ctrl-D quits.\n"
    )
    lines = _Lines(stdin)
    first = thread is None
    try:
        while True:
            out.write("you> ")
            out.flush()
            line = await lines.next()
            if line is None or line.strip() in ("/quit", "/exit"):
                break
            if not line.strip():
                continue
            if line.startswith("/file "):
                out.write(_attach(local, line[6:].strip(), attached) + "\n")
                continue
            ts = thread_ts if first else _new_ts()
            first = False
            request = TurnRequest(TEAM, CHANNEL, thread_ts, ts, USER, line, files=tuple(attached))
            attached.clear()
            if not live:
                out.write("\n")
            await _answer(dispatcher, request)
            terminal.end_turn()
    finally:
        out.write("\n")
        await budget.close()
        await mcp.stop()
        await model.close()
        await llm.close()
        await engine.dispose()
        if files is not None:
            files.extractors.close()
    return 0


def _attach(local: LocalFiles, path: str, attached: list[dict[str, Any]]) -> str:
    """Attach a local file to the next question; return what to tell the user."""
    file = Path(path).expanduser()
    if not file.is_file():
        return f"No such file: {path}"
    mimetype = mimetypes.guess_type(file.name)[0] or ""
    attached.append(local.attach(file, mimetype))
    return f"Attached {file.name}; it goes with your next question."


_last_ts = [0]


def _new_ts() -> str:
    """Return a Slack-like ts unique to this database (microseconds, strictly increasing)."""
    now = max(time.time_ns() // 1000, _last_ts[0] + 1)
    _last_ts[0] = now
    return f"{now // 1_000_000}.{now % 1_000_000:06d}"


async def _answer(dispatcher: Dispatcher, request: TurnRequest) -> None:
    """Run one turn; Ctrl-C stops the answer the way the Stop button does."""
    task = asyncio.create_task(dispatcher.handle(request))
    loop = asyncio.get_running_loop()

    def stop() -> None:
        live = dispatcher.live_turn(request.team_id, request.channel, request.message_ts)
        if live is not None:
            live.stop()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop)
    try:
        await task
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)


def console_settings() -> Settings:
    """Read settings for the console: no Slack variable is needed (nor used)."""
    from bot.settings import load_settings

    return load_settings(
        slack_bot_token="xoxb-console-unused",
        slack_signing_secret="console-unused",
        slack_app_token=None,
        slack_client_id="",
        slack_client_secret="",
    )
