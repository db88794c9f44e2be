"""MODEL_PRICES: what a million input and output tokens of each model cost (`ModelPrice`)."""

from __future__ import annotations

from bot.settings import ModelPrice


class PriceTable:
    """Turn token counts into money for the models that have a price."""

    def __init__(self, prices: dict[str, ModelPrice] | None = None) -> None:
        self.prices = dict(prices or {})

    def __bool__(self) -> bool:
        return bool(self.prices)

    def cost(self, model: str, prompt: int, completion: int, cached: int = 0) -> float | None:
        """Return the cost of these tokens, or None when `model` has no price."""
        price = self.prices.get(model)
        if price is None:
            return None
        cached = min(max(cached, 0), prompt)
        cached_price = price.input if price.cached_input is None else price.cached_input
        return (
            (prompt - cached) * price.input + cached * cached_price + completion * price.output
        ) / 1_000_000
