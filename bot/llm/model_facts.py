"""What the bot has learned about each model, in one place: with proof, checked, and forgotten.

A fact ("opens its `<think>` block in the template", "cannot take images", "refuses the
parameter X") is keyed by the server's base URL and the model name, and changes how every
later request to that model is made, for every user. So each is learned only from evidence
(an error that names the parameter or the image input; for `<think>`, the server's own chat
template, or more than one answer that shows it), checked every time it is used, forgotten
as soon as an answer contradicts it and after `ttl` seconds, and logged both ways.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

OPENS_THINK = "opens its <think> block in the template"
NO_IMAGES = "cannot take images"
THINK_PROOF = 2  # answers that must show a lone </think> before the model is believed to


def refuses(parameter: str) -> str:
    """Return the fact "refuses the parameter `parameter`"."""
    return f"refuses the {parameter} parameter"


@dataclass(slots=True)
class _Known:
    since: float
    why: str


class ModelFacts:
    """The facts learned about models, per (base URL, model); one per process."""

    def __init__(self, *, ttl: float = 6 * 3600.0, now: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._now = now
        self._known: dict[tuple[str, str, str], _Known] = {}
        self._think_seen: dict[tuple[str, str], int] = {}  # answers with a lone </think>

    def knows(self, base_url: str, model: str, fact: str) -> bool:
        """Tell whether `fact` holds for the model now (an expired fact is forgotten here)."""
        known = self._known.get((base_url, model, fact))
        if known is None:
            return False
        if self._now() - known.since > self.ttl:
            self.forget(base_url, model, fact, "its time to live ran out")
            return False
        return True

    def learn(self, base_url: str, model: str, fact: str, why: str) -> None:
        """Note `fact` for the model, with the evidence that shows it."""
        key = (base_url, model, fact)
        if key not in self._known:
            logger.warning("model %s at %s %s (learned: %s)", model, base_url, fact, why)
        self._known[key] = _Known(self._now(), why)

    def forget(self, base_url: str, model: str, fact: str, why: str) -> None:
        """Drop `fact` for the model: an answer contradicted it, or it expired."""
        if fact == OPENS_THINK:
            self._think_seen.pop((base_url, model), None)
        if self._known.pop((base_url, model, fact), None) is not None:
            logger.warning("model %s at %s: forgot that it %s (%s)", model, base_url, fact, why)

    def refused(self, base_url: str, model: str, candidates: tuple[str, ...]) -> set[str]:
        """Return which of the parameters `candidates` the model is known to refuse."""
        return {p for p in candidates if self.knows(base_url, model, refuses(p))}

    def think_proof_due(self, base_url: str, model: str) -> bool:
        """Tell whether one more answer with a lone `</think>` would prove the fact."""
        return self._think_seen.get((base_url, model), 0) + 1 >= THINK_PROOF

    def answer_shows_think(self, base_url: str, model: str, lone_close: bool) -> bool:
        """Count one answer's evidence about `<think>`; True once the model is believed to open it.

        An answer with a lone `</think>` is one answer's worth of proof (a literal tag in an
        answer about markup looks the same); an answer with text and no such tag resets the
        count. The fact is learned at `THINK_PROOF` answers in a row.
        """
        key = (base_url, model)
        if not lone_close:
            self._think_seen.pop(key, None)
            return False
        seen = self._think_seen.get(key, 0) + 1
        self._think_seen[key] = seen
        if seen >= THINK_PROOF:
            self.learn(base_url, model, OPENS_THINK, f"{seen} answers in a row closed it unopened")
            return True
        return False


def template_opens_think(template: str) -> bool:
    """Tell whether a Jinja chat template opens `<think>` in its generation prompt."""
    at = template.rfind("add_generation_prompt")
    if at < 0:
        return False
    prompt = template[at:]
    end = prompt.find("endif")
    prompt = prompt if end < 0 else prompt[:end]
    return "<think>" in prompt and "</think>" not in prompt
