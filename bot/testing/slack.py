"""A fake Slack Web API server that the real slack_sdk AsyncWebClient talks to over HTTP.

Usage::

    async with FakeSlack() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        await client.chat_postMessage(channel="C1", text="hi")
        assert slack.calls_to("chat.postMessage")

Message semantics (threads, streams, limits) live in ``slack_workspace.py``; this module
adds the HTTP layer, call recording and failure injection.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

from aiohttp import web

from bot.settings import Settings
from bot.telemetry.scope import TURN_HEADER
from bot.testing.server import FakeServer
from bot.testing.slack_agents import AgentsMixin
from bot.testing.slack_files import SlackFilesMixin
from bot.testing.slack_functions import FunctionsMixin
from bot.testing.slack_rules import Json, SlackError
from bot.testing.slack_surfaces import SurfacesMixin
from bot.testing.slack_workspace import SlackWorkspace
from bot.testing.socket_mode import SocketModeMixin

# What an install from app_manifest.yml grants (SLACK_SCOPES' default is the manifest's list).
GRANTED_SCOPES = Settings.model_fields["slack_scopes"].default.split(",")

__all__ = ["Call", "FakeSlack", "SlackError"]


@dataclass(frozen=True)
class Call:
    """One recorded Web API call."""

    method: str
    args: Json
    at: float
    response: Json
    status: int
    token: str | None = None  # the token the caller used (tells the workspace apart)
    turn: str | None = None  # the turn that made it (its X-Turn-Id header), if any


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: int | None
    times: int


@dataclass
class _Bucket:
    rate: float
    burst: int
    tokens: float
    last: float


async def _parse_args(request: web.Request) -> Json:
    """Merge query parameters with a JSON or form body into one dict."""
    # slack_sdk sends ``params=`` methods (chat.delete, reactions.add, ...) as a POST
    # query string with an empty form body, ``json=`` methods as a JSON body.
    args: Json = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise SlackError("invalid_json") from exc
        if not isinstance(body, dict):
            raise SlackError("invalid_json")
        args.update(body)
    elif request.body_exists:
        for key, value in (await request.post()).items():
            args[key] = value
            if isinstance(value, str) and value[:1] in ("[", "{"):
                try:
                    args[key] = json.loads(value)
                except ValueError:
                    pass
    return args


class FakeSlack(
    FakeServer,
    SlackWorkspace,
    SurfacesMixin,
    SocketModeMixin,
    SlackFilesMixin,
    FunctionsMixin,
    AgentsMixin,
):
    """Emulate the subset of the Slack Web API the bot uses, recording every call."""

    def __init__(
        self,
        *,
        team_id: str = "T1",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        stream_ttl: float = 300.0,
    ) -> None:
        FakeServer.__init__(self)
        SlackWorkspace.__init__(
            self, team_id=team_id, bot_user_id=bot_user_id, bot_id=bot_id, stream_ttl=stream_ttl
        )
        self._init_surfaces()
        self.api_methods.update(self.surface_methods())
        self._init_functions()
        self.api_methods.update(self.function_methods())
        self._init_agents()
        self.api_methods.update(self.agent_methods())
        self.calls: list[Call] = []
        self.rate_limited = 0
        self._failures: dict[str, list[_Failure]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._delays: dict[str, float] = {}
        self._stalled: set[str] = set()
        self.held: list[str] = []  # stalled calls that arrived (never applied)
        self._cut_after: dict[str, int] = {}  # method -> calls to apply, then drop unanswered
        self._hang = 0.0
        self.cut: list[Call] = []  # calls applied whose answer was dropped
        self.granted_scopes: list[str] = list(GRANTED_SCOPES)  # what the bot token was given
        self._init_socket_mode()
        self._init_files()

    @property
    def api_url(self) -> str:
        """Return the ``base_url`` for AsyncWebClient, with a trailing slash."""
        return f"{self.origin}/api/"

    def calls_to(self, method: str) -> list[Call]:
        """Return the recorded calls of one API method, oldest first."""
        return [call for call in self.calls if call.method == method]

    def clear_calls(self) -> None:
        """Forget all recorded calls."""
        self.calls.clear()

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``status`` and ``error``."""
        error = error or ("ratelimited" if status == 429 else "internal_error")
        self._failures.setdefault(method, []).append(_Failure(status, error, retry_after, times))

    def set_rate_limit(self, method: str, per_minute: float, burst: int) -> None:
        """Rate-limit ``method`` with a workspace-wide token bucket answering 429 when empty."""
        self._buckets[method] = _Bucket(per_minute / 60.0, burst, float(burst), time.monotonic())

    def delay(self, method: str, seconds: float) -> None:
        """Answer ``method`` only after ``seconds`` (0 removes the delay)."""
        self._delays[method] = seconds

    def stall(self, method: str) -> None:
        """Never apply nor answer ``method`` from now on, as if the caller died sending it."""
        self._stalled.add(method)

    def cut_after_applying(self, method: str, *, times: int = 1, hang: float = 0.0) -> None:
        """Apply the next ``times`` calls of ``method``, then drop the connection unanswered.

        The caller sees a dropped connection (or, with ``hang`` seconds of silence first
        longer than its timeout, a timeout) and cannot tell that Slack applied the call: the
        case a non-idempotent write must look up before retrying.
        """
        self._cut_after[method] = self._cut_after.get(method, 0) + times
        self._hang = hang

    def unstall(self, method: str) -> None:
        """Let later calls of ``method`` through again (stalled ones stay lost)."""
        self._stalled.discard(method)

    def _build_app(self) -> web.Application:
        app = web.Application()
        # GET as well: slack_sdk uses GET for conversations.replies/info and users.info.
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_get("/socket", self._socket)
        self._add_file_routes(app)
        return app

    def _describe(self) -> str:
        recent = ", ".join(
            f"{c.method}->{c.status}:{c.response.get('error', 'ok')}" for c in self.calls[-10:]
        )
        return f"last calls: {recent or '(none)'}"

    async def _handle(self, request: web.Request) -> web.Response:
        """Answer one Web API request; a client timeout does not undo it, as on real Slack."""
        method, at = request.match_info["method"], time.monotonic()
        try:
            args = await _parse_args(request)
        except SlackError as exc:
            self.calls.append(Call(method, {}, at, exc.body, 200))
            return web.json_response(exc.body)
        auth = request.headers.get("Authorization", "")
        token = args.pop("token", None)
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else token
        turn = request.headers.get(TURN_HEADER)
        call, headers = await self._shielded(self._answer(method, args, token, at, turn))
        if self._cut_after.get(method, 0) > 0 and call.status == 200:
            self._cut_after[method] -= 1
            self.cut.append(call)
            await self._pause(self._hang)
            if request.transport is not None:
                request.transport.abort()  # applied, and the answer never leaves
        return web.json_response(call.response, status=call.status, headers=headers)

    async def _answer(
        self, method: str, args: Json, token: str | None, at: float, turn: str | None = None
    ) -> tuple[Call, dict[str, str]]:
        """Apply any configured delay, then compute and record the answer."""
        if method in self._stalled:  # never reached Slack: nothing applied nor recorded
            self.held.append(method)
            await self._stopping.wait()
            return Call(method, args, at, SlackError("request_dropped").body, 200, token), {}
        await self._pause(self._delays.get(method, 0.0))
        body, status, headers = self._dispatch(method, args, token)
        if status == 429:
            self.rate_limited += 1
        call = Call(method, args, at, body, status, token, turn)
        self.calls.append(call)
        return call, headers

    def _dispatch(
        self, method: str, args: Json, token: str | None
    ) -> tuple[Json, int, dict[str, str]]:
        failure = self._take_failure(method)
        retry_after = self._take_token(method) if failure is None else None
        if failure is not None:
            extra = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
            return SlackError(failure.error).body, failure.status, extra
        if retry_after is not None:
            return SlackError("ratelimited").body, 429, {"Retry-After": str(retry_after)}
        if not token and method != "oauth.v2.access":  # that one uses client credentials
            return SlackError("not_authed").body, 200, {}
        self.caller_token = token
        if method not in self.api_methods:
            return SlackError("unknown_method").body, 200, {}
        # Slack names the token's granted scopes on every answer (x-oauth-scopes).
        app_token = (token or "").startswith("xapp-")
        scopes = {} if app_token else {"x-oauth-scopes": ",".join(self.granted_scopes)}
        try:
            return self.api_methods[method](args), 200, scopes
        except SlackError as exc:
            return exc.body, 200, scopes

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    def _take_token(self, method: str) -> int | None:
        """Consume a rate-limit token; return Retry-After seconds if none is left."""
        bucket = self._buckets.get(method)
        if bucket is None:
            return None
        now = time.monotonic()
        bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.last) * bucket.rate)
        bucket.last = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        wait = (1.0 - bucket.tokens) / bucket.rate if bucket.rate > 0 else 60.0
        return max(1, math.ceil(wait))
