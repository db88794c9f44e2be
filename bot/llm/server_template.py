"""Ask an OpenAI-compatible server for the chat template it applies (llama.cpp's `/props`)."""

from __future__ import annotations

import logging
from typing import Any

import openai

logger = logging.getLogger(__name__)

PROPS_TIMEOUT = 5.0  # seconds; a server without the endpoint answers 404 at once


async def server_template(client: openai.AsyncOpenAI) -> str:
    """Return the chat template the server reports ("" when it reports none)."""
    root = str(client.base_url).rstrip("/")
    root = root[: -len("/v1")] if root.endswith("/v1") else root
    try:
        props: Any = await client.get(
            f"{root}/props", cast_to=object, options={"timeout": PROPS_TIMEOUT, "max_retries": 0}
        )
    except Exception as exc:  # noqa: BLE001 - a probe never costs the answer
        logger.debug("no chat template from %s: %s", root, exc)
        return ""
    template = props.get("chat_template") if isinstance(props, dict) else None
    return template if isinstance(template, str) else ""
