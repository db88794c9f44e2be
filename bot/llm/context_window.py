"""The context window a model server reports, and the history budget that fits it.

Servers say how many tokens a request may hold in different places: vLLM as `max_model_len`
and OpenRouter as `context_length` on the model's `/v1/models` entry, llama.cpp as `n_ctx` in
`/props`, Ollama as `num_ctx` (or the model's `context_length`) from `/api/show`. OpenAI says
nothing, and then the configured `HISTORY_TOKEN_BUDGET` stands.

The window is a fact the server states about itself, so it is believed for a while (`ttl`)
and asked again afterwards; a server that stops reporting it is forgotten at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

ANSWER_SHARE = 4  # without MAX_OUTPUT_TOKENS, a quarter of the window is kept for the answer
ANSWER_ROOM_MAX = 4096
LOOKUP_TIMEOUT = 3.0  # each of the (at most three) lookups, once an hour per model
ANSWER_WAIT = 1.0  # seconds an answer waits for a lookup in flight (a local server: ms)


def origin_of(base_url: str) -> str:
    """Return the server's origin: the base URL without its `/v1` tail."""
    base = base_url.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def from_models_list(body: Any, model: str) -> int | None:
    """Read vLLM's `max_model_len` or OpenRouter's `context_length` from `/v1/models`."""
    entries = body.get("data") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and entry.get("id") == model:
            return _positive(entry.get("max_model_len")) or _positive(entry.get("context_length"))
    return None


def from_llama_props(body: Any) -> int | None:
    """Read llama.cpp's `n_ctx` (per slot) from `/props`."""
    if not isinstance(body, dict):
        return None
    settings = body.get("default_generation_settings")
    if isinstance(settings, dict):
        return _positive(settings.get("n_ctx")) or _positive(
            (settings.get("params") or {}).get("n_ctx")
        )
    return _positive(body.get("n_ctx"))


def from_ollama_show(body: Any) -> int | None:
    """Read Ollama's `num_ctx` parameter, or else the model's own `context_length`."""
    if not isinstance(body, dict):
        return None
    for line in str(body.get("parameters") or "").splitlines():
        name, _, value = line.strip().partition(" ")
        if name == "num_ctx" and value.strip().isdigit():
            return int(value.strip())
    info = body.get("model_info")
    if isinstance(info, dict):
        for key, value in info.items():
            if key.endswith(".context_length"):
                return _positive(value)
    return None


async def discover(
    session: aiohttp.ClientSession, base_url: str, model: str, api_key: str = ""
) -> tuple[int, str] | None:
    """Ask the server for `model`'s context window; return (tokens, where it was read)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    origin = origin_of(base_url)
    asks: list[tuple[str, str, dict[str, Any] | None, Callable[[Any], int | None]]] = [
        ("GET", base_url.rstrip("/") + "/models", None, lambda b: from_models_list(b, model)),
        ("GET", origin + "/props", None, from_llama_props),
        ("POST", origin + "/api/show", {"model": model}, from_ollama_show),
    ]
    timeout = aiohttp.ClientTimeout(total=LOOKUP_TIMEOUT)
    for method, url, payload, read in asks:
        try:
            async with session.request(
                method, url, json=payload, headers=headers, timeout=timeout
            ) as response:
                if response.status != 200:
                    continue
                window = read(await response.json(content_type=None))
        except (aiohttp.ClientError, TimeoutError, ValueError):
            continue
        if window:
            return window, url
    return None


def fitting_budget(window: int, max_output_tokens: int | None, configured: int) -> int:
    """Return the history budget for a window: what is left after the answer's room.

    The budget only follows the window downwards: a bigger window does not raise it (each
    request would cost more), so `configured` stays the ceiling.
    """
    room = max_output_tokens or min(ANSWER_ROOM_MAX, window // ANSWER_SHARE)
    return max(200, min(configured, window - room))


@dataclass(slots=True)
class _Known:
    window: int | None
    until: float


class ContextWindows:
    """Remember each model's reported window for `ttl` seconds and give its history budget."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        configured_budget: int,
        budget_is_set: bool,
        max_output_tokens: int | None,
        ttl: float = 3600.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.configured = configured_budget
        self.fixed = budget_is_set  # HISTORY_TOKEN_BUDGET set by the operator: never changed
        self.max_output = max_output_tokens
        self.ttl = ttl
        self._now = now
        self._known: dict[str, _Known] = {}
        self._lookups: dict[str, asyncio.Task[int | None]] = {}
        self._warned: set[str] = set()
        self._session: aiohttp.ClientSession | None = None

    async def budget(self, model: str) -> int:
        """Return the history budget for `model` (the configured one if nothing is known)."""
        window = await self.window(model)  # known even when fixed: `answer_ended` reads it
        if window is None or self.fixed:
            return self.configured
        return fitting_budget(window, self.max_output, self.configured)

    async def window(self, model: str) -> int | None:
        """Return `model`'s reported window, asking the server when it is unknown or old.

        An answer never waits long for the server: a lookup runs as a task of its own, and
        an answer waits for it at most `ANSWER_WAIT` seconds (a gateway that hangs on `/props`
        would otherwise hold every first answer for the lookups' timeouts). Meanwhile the
        answer goes on with what was known (an old window, or the configured budget).
        """
        known = self._known.get(model)
        if known is not None and known.until > self._now():
            return known.window
        lookup = self._lookups.get(model)
        if lookup is None or lookup.done():
            lookup = asyncio.create_task(self._look_up(model), name=f"context-window-{model}")
            self._lookups[model] = lookup
        if known is not None:
            return known.window  # the old window stands while the new one is asked for
        try:
            return await asyncio.wait_for(asyncio.shield(lookup), ANSWER_WAIT)
        except TimeoutError:
            logger.info("model %s: the context window lookup is slow; going on without", model)
            return None

    async def _look_up(self, model: str) -> int | None:
        """Ask the server for `model`'s window and remember the answer for `ttl`."""
        known = self._known.get(model)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            found = await discover(self._session, self.base_url, model, self.api_key)
        except Exception as exc:  # noqa: BLE001 - a lookup never costs an answer
            logger.info("model %s: no context window (%s)", model, type(exc).__name__)
            found = None
        window = found[0] if found else None
        if found and (known is None or known.window != window):
            logger.info(
                "model %s: the server reports a context window of %d tokens (%s)",
                model,
                found[0],
                found[1],
            )
        elif not found and known is not None and known.window is not None:
            logger.info("model %s: the server no longer reports a context window", model)
        self._known[model] = _Known(window, self._now() + self.ttl)
        return window

    def answer_ended(
        self, model: str, finish_reason: str | None, usage: dict[str, Any] | None
    ) -> None:
        """Log once per model when an answer ends at the window, with the fix."""
        if finish_reason != "length" or model in self._warned:
            return
        known = self._known.get(model)
        if known is None or known.window is None or not usage:
            return
        used = (usage.get("prompt_tokens") or 0) + (usage.get("completion_tokens") or 0)
        if used < known.window * 0.95:
            return  # ended at MAX_OUTPUT_TOKENS, not at the window
        self._warned.add(model)
        logger.warning(
            "an answer from %s ended at the server's context window (%d tokens used of %d): "
            "set HISTORY_TOKEN_BUDGET lower or start the server with a larger context "
            "(llama.cpp: -c; Ollama: num_ctx; vLLM: --max-model-len)",
            model,
            used,
            known.window,
        )

    async def close(self) -> None:
        """Stop the lookups in flight and close the HTTP session they use."""
        lookups, self._lookups = list(self._lookups.values()), {}
        for lookup in lookups:
            lookup.cancel()
        if lookups:
            await asyncio.gather(*lookups, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
