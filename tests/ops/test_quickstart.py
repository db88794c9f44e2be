"""The README's quick start, followed as written: its five settings, then `python -m bot doctor`."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

from bot.testing.openai import FakeOpenAI, text_reply, tool_call_reply
from bot.testing.slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]


def readme_settings() -> list[str]:
    """Return the variables the README's "five settings" block exports, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### The five settings everyone needs", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"^export ([A-Z_]+)=", section, flags=re.M)


def tool_or_text(body: dict[str, Any]) -> Any:
    """Call the tool when offered one and not yet answered; otherwise say OK."""
    if body.get("tools") and body["messages"][-1]["role"] == "user":
        return tool_call_reply([("call_1", "get_current_time", "{}")])
    return text_reply("OK")


def test_the_readme_names_five_settings_and_doctor() -> None:
    names = readme_settings()
    assert len(names) == 5, names
    assert "python -m bot doctor" in (ROOT / "README.md").read_text(encoding="utf-8")


async def test_doctor_passes_with_only_the_five_settings(
    tmp_path: Path, slack: FakeSlack, llm: FakeOpenAI
) -> None:
    llm.responder = tool_or_text
    values = {
        "SLACK_BOT_TOKEN": "xoxb-quickstart-token",
        "SLACK_SIGNING_SECRET": "quickstart-signing-secret",
        "OPENAI_API_KEY": "sk-quickstart-key",
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_MODEL": llm.model,
    }
    env = {name: values[name] for name in readme_settings()}
    # Only the fake Slack needs a setting of its own: real Slack is at the default URL.
    env["SLACK_API_URL"] = slack.api_url
    env |= {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    env["PYTHONIOENCODING"] = "utf-8"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "doctor",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(tmp_path),  # a fresh directory: no .env, the default SQLite file not there yet
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    text = out.decode()
    assert proc.returncode == 0, (text, err.decode())
    assert "✘" not in text
    for check in ("Slack auth.test", "Streamed answer", "Tool calls", "Database"):
        assert f"✔ {check}" in text, text
    assert "xoxb-quickstart-token" not in text + err.decode()
    assert llm.requests, "the model server was asked"
