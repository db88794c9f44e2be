"""The price table (`MODEL_PRICES`), read as JSON text and checked like any other value."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import NoDecode


class ModelPrice(BaseModel):
    """Price per million tokens; cached input costs `cached_input` when given, else `input`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)


# MODEL_PRICES is read as text and parsed here, so bad JSON is reported like any bad value.
Prices = Annotated[dict[str, ModelPrice], NoDecode]


def prices_json(value: Any) -> Any:
    """Parse MODEL_PRICES when it arrives as JSON text (from the environment)."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else {}
        except ValueError:
            raise ValueError("not valid JSON") from None
    return value
