"""Turn an MCP `CallToolResult` into what the model reads.

Text blocks are joined; structured content is added as JSON (unless the text already says
the same); resource links and embedded resources become a line of text each. A result is
stored as text, so an image block becomes a note in the text and an `ImagePart` in
`ToolOutput.images` (which `bot.tools.images` can show to a vision model); audio, a note.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image a tool returned, as an OpenAI `image_url` content part would carry it."""

    mime_type: str
    data: str  # base64

    def as_content_part(self) -> dict[str, Any]:
        """Render as a chat content part for vision models."""
        return {
            "type": "image_url",
            "image_url": {"url": f"data:{self.mime_type};base64,{self.data}"},
        }


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What one MCP call produced: the text for the model, and any images."""

    text: str
    is_error: bool = False
    images: tuple[ImagePart, ...] = field(default=())


def _size(data: str) -> str:
    try:
        size = len(base64.b64decode(data, validate=False))
    except ValueError:
        size = len(data) * 3 // 4
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} bytes"


def _resource_text(resource: Any) -> str:
    uri = str(getattr(resource, "uri", ""))
    text = getattr(resource, "text", None)
    if text is not None:
        return f"[resource {uri}]\n{text}"
    mime = getattr(resource, "mime_type", None) or "binary"
    return f"[resource {uri} ({mime}, {_size(getattr(resource, 'blob', '') or '')})]"


def _same(text: str, structured: Any) -> bool:
    """Tell whether the text already carries the structured content (SDKs send both)."""
    candidates = [structured]
    if isinstance(structured, dict) and set(structured) == {"result"}:
        candidates.append(structured["result"])  # how SDKs wrap a plain return value
    if text in candidates:
        return True
    try:
        return json.loads(text) in candidates
    except ValueError:
        return False


def convert(result: types.CallToolResult) -> ToolOutput:
    """Render a tool result for the model."""
    parts: list[str] = []
    images: list[ImagePart] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.ImageContent):
            images.append(ImagePart(block.mime_type, block.data))
            parts.append(f"[image {len(images)}: {block.mime_type}, {_size(block.data)}]")
        elif isinstance(block, types.AudioContent):
            parts.append(f"[audio: {block.mime_type}, {_size(block.data)}, not playable here]")
        elif isinstance(block, types.ResourceLink):
            about = f" ({block.description})" if block.description else ""
            parts.append(f"[resource link] {block.name}: {block.uri}{about}")
        elif isinstance(block, types.EmbeddedResource):
            parts.append(_resource_text(block.resource))
        else:
            parts.append(f"[{getattr(block, 'type', 'unknown')} content]")
    text = "\n".join(parts)
    structured = result.structured_content
    if structured is not None and not _same(text, structured):
        dumped = json.dumps(structured, ensure_ascii=False, default=str)
        text = f"{text}\n{dumped}" if text else dumped
    if not text and not result.is_error:
        text = "Done (no output)."
    return ToolOutput(text=text, is_error=bool(result.is_error), images=tuple(images))
