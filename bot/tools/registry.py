"""The tool registry: what the model may call, and running calls so failures become text."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.errors import BotError
from bot.jsondepth import MAX_DEPTH, too_deep
from bot.llm.events import ToolCall
from bot.tools.schema import ToolArgumentError

logger = logging.getLogger(__name__)

TRUNCATED = "\n[…the rest of this result was cut to fit the model's context…]"
# A filesystem path in an exception's text (it could name the server's directories).
_PATH = re.compile(r"(?<![\w:/])(?:[A-Za-z]:)?[\\/](?:[^\s'\"\\/]+[\\/])+[^\s'\"]*")


class ToolError(BotError):
    """Raise from a tool to tell the model what went wrong, in exactly these words (the model sees it)."""


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What one tool call gave the model: its text, and whether the call failed."""

    text: str
    ok: bool = True
    # What the stored history keeps instead of `text` (None: `text` itself). Search results
    # are used for this answer only: the history keeps a note of what was searched.
    stored: str | None = None
    sources: tuple[tuple[str, str], ...] = ()  # (url, label) links the result drew on

    @classmethod
    def failure(cls, reason: str) -> ToolResult:
        """Return a failed call's result; the model reads `Error: <reason>`."""
        return cls(f"Error: {reason}", ok=False)


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool may know about the turn that called it."""

    team_id: str
    channel_id: str
    thread_ts: str
    user_id: str | None
    client: Any = None  # the Slack AsyncWebClient
    # Everyone who wrote in the conversation's stored history (the asker included): who
    # sees what a tool result makes the model say there (bot.tools.sharing).
    participants: frozenset[str] = frozenset()
    # Real-time Search: the short-lived token of the event that started the turn (with the
    # bot token it searches with the asker's access), or a configured user token.
    action_token: str = ""
    search_token: str = ""


MAX_TOOL_NAME = 64  # what OpenAI-compatible APIs accept as a function name


def _key(tool: Tool) -> tuple[str, str]:
    return (tool.source, tool.origin or tool.name)


def suffixed(tool: Tool) -> str:
    """Return the tool's name with a short suffix made from where it comes from (stable)."""
    digest = hashlib.sha256("\0".join(_key(tool)).encode()).hexdigest()[:6]
    return f"{tool.name[: MAX_TOOL_NAME - 7]}_{digest}"


@dataclass(frozen=True, slots=True)
class Tool:
    """A callable the model can use, with its JSON schema (build one with `bot.tools.tool`)."""

    name: str
    description: str
    parameters: dict[str, Any]
    func: Callable[..., Awaitable[Any]]
    context_param: str | None = None  # the parameter that receives the ToolContext
    timeout: float | None = None  # overrides the registry's timeout
    validate: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    source: str = ""  # where it comes from when not Python: "mcp:SERVER"
    origin: str = ""  # its name at the source (an MCP server's own tool name)
    # A person approves each call before it runs (bot.turns.approval): tools that change things.
    needs_approval: bool = False
    offered: Callable[[ToolContext], bool] | None = None  # offered in this turn? (None: always)

    def __call__(self, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        """Call the underlying function directly (handy in tests)."""
        return self.func(*args, **kwargs)

    def spec(self) -> dict[str, Any]:
        """Render as an entry of the request's `tools`."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass
class ToolRegistry:
    """Tools by name; `run` never raises for a tool's own failure."""

    tools: list[Tool] = field(default_factory=list)
    timeout: float = 20.0
    result_limit: int = 20_000  # characters of one result kept for the model
    max_calls: int = 16  # calls run per model response; the rest get an error result
    max_argument_chars: int = 100_000  # longer arguments are refused, not parsed
    _tools: dict[str, Tool] = field(default_factory=dict, init=False)
    _abandoned: set[asyncio.Task[Any]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        for tool in self.tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        """Register a tool (a later one with the same name replaces it)."""
        if tool.name in self._tools and self._tools[tool.name] is not tool:
            logger.info("tool %s replaces an earlier tool of that name", tool.name)
        self._tools[tool.name] = tool

    def replace_source(self, source: str, tools: Iterable[Tool]) -> None:
        """Offer `tools` in place of the earlier tools of `source` (tools that come and go).

        Names can collide (after sanitising and the 64-character cut, or with another
        origin's): both tools stay offered, one under its name with a short suffix made from
        where it comes from, so the same tool gets the same suffix every time. A Python tool
        always keeps its name; of two MCP tools, the one from the first server (by name)
        does.
        """
        if not source:
            raise ValueError("replace_source needs a source name")
        for name in [n for n, t in self._tools.items() if t.source == source]:
            del self._tools[name]
        for tool in tools:
            self._place(tool)

    def _place(self, tool: Tool) -> None:
        held = self._tools.get(tool.name)
        if held is None:
            self._tools[tool.name] = tool
            return
        if held.source and _key(tool) < _key(held):  # the new one ranks first: it takes the name
            self._tools[tool.name] = tool
            tool, held = held, tool
        renamed = replace(tool, name=suffixed(tool))
        if renamed.name in self._tools:
            logger.warning("%s keeps the name %s; %s's is not offered", held.source, tool.name,
                           tool.source)  # fmt: skip
            return
        logger.warning(
            "%s and %s both offer a tool named %s; %s's is offered as %s",
            held.source or "a Python tool",
            tool.source,
            tool.name,
            tool.source,
            renamed.name,
        )
        self._tools[renamed.name] = renamed

    def needs_approval(self, name: str) -> bool:
        """Tell whether a call of `name` waits for a person's approval (unknown tools do not run)."""
        tool = self._tools.get(name)
        return tool is not None and tool.needs_approval

    def offered_in(self, ctx: ToolContext) -> ToolRegistry:
        """Return a view without the tools this turn cannot use (`Tool.offered`)."""
        if all(tool.offered is None for tool in self._tools.values()):
            return self
        return self.only(lambda tool: tool.offered is None or tool.offered(ctx))

    def only(self, allow: Callable[[Tool], bool] | None) -> ToolRegistry:
        """Return a view offering and running only the tools `allow` lets through."""
        if allow is None:
            return self
        view = copy.copy(self)  # shares the timeout, the limit and the abandoned tasks
        view._tools = {name: tool for name, tool in self._tools.items() if allow(tool)}
        return view

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def names(self) -> list[str]:
        """Return the registered tool names, in registration order."""
        return list(self._tools)

    def specs(self) -> list[dict[str, Any]]:
        """Return the `tools` list advertised to the model."""
        return [tool.spec() for tool in self._tools.values()]

    async def run_all(self, calls: tuple[ToolCall, ...], ctx: ToolContext) -> list[ToolResult]:
        """Run calls concurrently (at most `max_calls`); return one result per call, in order."""
        ran = list(await asyncio.gather(*(self.run(call, ctx) for call in calls[: self.max_calls])))
        if len(calls) > self.max_calls:
            logger.warning("%d tool calls in one response; ran %d", len(calls), self.max_calls)
        skipped = ToolResult.failure(
            f"not run: {len(calls)} tool calls came in one response and at most "
            f"{self.max_calls} run at a time. Call the rest in your next response."
        )
        return ran + [skipped] * (len(calls) - len(ran))

    async def run(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        """Run one call; every failure becomes a failed result the model reads."""
        tool = self._tools.get(call.name)
        if tool is None:
            known = ", ".join(self._tools) or "none"
            return ToolResult.failure(
                f"there is no tool named {call.name!r}. Available tools: {known}."
            )
        if call.problem:
            return ToolResult.failure(f"{call.name} was not run: {call.problem}.")
        if len(call.arguments or "") > self.max_argument_chars:
            return ToolResult.failure(
                f"the arguments of {call.name} are longer than "
                f"{self.max_argument_chars:,} characters, so it was not run. Send shorter ones."
            )
        try:
            args = _parse(call.arguments)
            if tool.validate is not None:
                args = tool.validate(args)
        except ToolArgumentError as exc:
            return ToolResult.failure(
                f"invalid arguments for {call.name}: {exc}. Call it again with valid ones."
            )
        if tool.context_param:
            args[tool.context_param] = ctx
        result = await self._invoke(tool, args)
        return replace(result, text=self._limit(result.text))

    async def _invoke(self, tool: Tool, args: dict[str, Any]) -> ToolResult:
        timeout = tool.timeout or self.timeout

        async def call() -> Any:  # so that even a failure to start lands in the task
            return await tool.func(**args)

        task = asyncio.ensure_future(call())
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not done:
            # Do not wait for the cancellation: a tool that ignores it must not hold the turn.
            task.cancel()
            self._abandoned.add(task)
            task.add_done_callback(_forget(self._abandoned))
            logger.warning("tool %s timed out after %.1fs", tool.name, timeout)
            return ToolResult.failure(f"{tool.name} did not finish within {timeout:g} seconds.")
        if task.cancelled():
            return ToolResult.failure(f"{tool.name} was cancelled before it finished.")
        exc = task.exception()
        if isinstance(exc, ToolError):
            return ToolResult.failure(str(exc))
        if exc is not None:
            logger.warning("tool %s raised %s", tool.name, type(exc).__name__, exc_info=exc)
            return ToolResult.failure(f"{tool.name} failed: {type(exc).__name__}: {_public(exc)}")
        value = task.result()
        return value if isinstance(value, ToolResult) else ToolResult(_text(value))

    def _limit(self, text: str) -> str:
        if len(text) <= self.result_limit:
            return text
        return text[: max(0, self.result_limit - len(TRUNCATED))] + TRUNCATED


def _parse(arguments: str | None) -> dict[str, Any]:
    """Parse the model's arguments; empty or null means no arguments."""
    if not arguments or not arguments.strip() or arguments.strip() == "null":
        return {}
    if too_deep(arguments):
        raise ToolArgumentError(f"arguments nest deeper than {MAX_DEPTH} levels")
    try:
        args = json.loads(arguments)
    except ValueError as exc:
        raise ToolArgumentError(f"not valid JSON ({exc}); send a JSON object") from None
    except RecursionError:
        raise ToolArgumentError(f"arguments nest deeper than {MAX_DEPTH} levels") from None
    if not isinstance(args, dict):
        raise ToolArgumentError("arguments must be a JSON object")
    return args


def _public(exc: BaseException) -> str:
    """Return an exception's text without filesystem paths (an OSError names its file)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return _PATH.sub("…", str(exc))


def _text(result: Any) -> str:
    """Render a tool's return value as the text the model reads."""
    if isinstance(result, ToolResult):
        return result.text
    if result is None:
        return "Done (no output)."
    if isinstance(result, str):
        return result
    try:
        return json.dumps(result, default=str, ensure_ascii=False)
    except ValueError:  # e.g. a circular structure
        return str(result)


def _forget(tasks: set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.info("a timed-out tool ended later with %s", type(task.exception()).__name__)

    return done
