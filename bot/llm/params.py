"""Request parameters providers disagree on: learn which a model refuses, and do without.

OpenAI's reasoning models refuse `max_tokens` (they take `max_completion_tokens`) and any
temperature but the default; older Azure deployments ("Unrecognized request argument"),
Mistral (422 "Extra inputs are not permitted") and xAI refuse `stream_options`; some servers
refuse `reasoning_effort`. A refusal names the parameter: the request is sent once more
without it, and the fact is kept in `ModelFacts` (with its time to live) so that later
requests leave it out from the start.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import openai

from bot.llm.model_facts import ModelFacts, refuses

logger = logging.getLogger(__name__)

OPTIONAL = ("max_tokens", "temperature", "stream_options", "reasoning_effort")
REFUSAL_WORDS = (
    "unsupported",
    "not supported",
    "does not support",
    "unrecognized",
    "unknown",
    "not permitted",
    "not allowed",
    "extra_forbidden",
    "only the default",
    "use 'max_completion_tokens'",
    "use max_completion_tokens",
)


class ParameterFallbacks:
    """Per model of one server, the optional parameters its provider refused."""

    def __init__(self, facts: ModelFacts, base_url: str) -> None:
        self.facts = facts
        self.base_url = base_url

    def apply(self, model: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Return `kwargs` without what `model` refused (`max_tokens` renamed instead)."""
        refused = self.facts.refused(
            self.base_url, model, tuple(k for k in OPTIONAL if k in kwargs)
        )
        if not refused:
            return kwargs
        result = {k: v for k, v in kwargs.items() if k not in refused}
        if "max_tokens" in refused and "max_tokens" in kwargs:
            result["max_completion_tokens"] = kwargs["max_tokens"]
        return result

    def learn(self, model: str, exc: BaseException, sent: dict[str, Any]) -> bool:
        """Note the parameter `exc` refuses; True when a retry without it may succeed."""
        if not isinstance(exc, openai.APIStatusError) or exc.status_code not in (400, 422):
            return False
        name = refused_parameter(exc, sent)
        if name is None:
            return False
        instead = "; sending max_completion_tokens instead" if name == "max_tokens" else ""
        why = f"a {exc.status_code} naming it{instead}"
        self.facts.learn(self.base_url, model, refuses(name), why)
        return True


def refused_parameter(exc: openai.APIStatusError, sent: dict[str, Any]) -> str | None:
    """Return the optional parameter of `sent` that the error refuses, if it names one."""
    body = exc.body if isinstance(exc.body, dict) else {}
    param = body.get("param")
    candidates = [name for name in OPTIONAL if name in sent]
    text = f"{exc.message} {json.dumps(exc.body, default=str)}".lower()
    if not any(word in text for word in REFUSAL_WORDS):
        return None  # e.g. "max_tokens is too large": a value to fix, not a parameter to drop
    if isinstance(param, str) and param in candidates:
        return param
    for name in candidates:
        if name in text:
            return name
    return None
