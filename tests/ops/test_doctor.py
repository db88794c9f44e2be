"""`python -m bot doctor` against the fakes: every check passes, then each one fails alone."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.db.migrate import upgrade_async
from bot.ops.doctor.run import run
from bot.testing.openai import FakeOpenAI, error_reply, text_reply, tool_call_reply
from bot.testing.ports import free_port
from bot.testing.slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "tests" / "tools" / "mcp" / "servers" / "kit.py"
BOT_TOKEN = "xoxb-doctor-secret-token"
API_KEY = "sk-doctor-secret-key"


def tool_or_text(body: dict[str, Any]) -> Any:
    """Call the tool when offered one and not yet answered; otherwise say OK."""
    if body.get("tools") and body["messages"][-1]["role"] == "user":
        return tool_call_reply([("call_1", "get_current_time", "{}")])
    return text_reply("OK")


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, slack: FakeSlack, llm: FakeOpenAI
) -> dict[str, str]:
    """A configuration naming the fakes; tests change one value each."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    values = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "doctor-signing-secret",
        "SLACK_API_URL": slack.api_url,
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_MODEL": llm.model,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    llm.responder = tool_or_text
    return values


def set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


async def doctor(**kwargs: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = await run(out=out, **kwargs)
    text = out.getvalue()
    assert BOT_TOKEN not in text and API_KEY not in text, "a secret was printed"
    return code, text


def line(text: str, name: str) -> str:
    found = [row for row in text.splitlines() if row[2:].startswith(name)]
    assert found, f"no line for {name!r} in:\n{text}"
    return found[0]


async def test_everything_passes_against_the_fakes(env: dict[str, str], llm: FakeOpenAI) -> None:
    code, text = await doctor()
    assert code == 0, text
    assert "✘" not in text
    for name in (
        "Settings",
        "Slack auth.test",
        "Slack scopes",
        "HTTP mode",
        "Model listed",
        "Streamed answer",
        "Usage in the stream",
        "Tool calls",
        "Chat template",
        "Database",
    ):
        assert line(text, name).startswith("✔"), text
    assert line(text, "Redis").startswith("-")
    assert len(llm.requests) == 3, "at most a few tiny requests"


async def test_settings_that_do_not_parse(env: dict[str, str], monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    code, text = await doctor()
    assert code == 1
    assert line(text, "Settings").startswith("✘")
    assert "OPENAI_API_KEY is required" in text


async def test_credentials_in_the_model_url_are_a_finding_not_a_crash(
    env: dict[str, str], monkeypatch
) -> None:
    # The client's requests would all fail (it also sends the key as `Authorization`).
    set_env(monkeypatch, OPENAI_BASE_URL="http://user:secret@127.0.0.1:9/v1")
    code, text = await doctor()
    assert code == 1
    assert "OPENAI_BASE_URL" in line(text, "Settings") and "credentials" in text
    assert "secret" not in text.replace("signing-secret", "")


async def test_a_user_token_instead_of_the_bot_token(env: dict[str, str], monkeypatch) -> None:
    set_env(monkeypatch, SLACK_BOT_TOKEN="xoxp-user-token")
    code, text = await doctor(no_model=True)
    assert code == 1
    assert "SLACK_BOT_TOKEN is a user token" in line(text, "Slack auth.test")
    assert "Bot User OAuth Token" in text


async def test_a_token_slack_refuses(env: dict[str, str], slack: FakeSlack) -> None:
    slack.fail_next("auth.test", error="invalid_auth")
    code, text = await doctor(no_model=True)
    assert code == 1
    assert line(text, "Slack auth.test").startswith("✘ Slack auth.test: invalid_auth")
    assert line(text, "Slack scopes").startswith("-")


async def test_a_missing_scope_is_named_with_its_feature(
    env: dict[str, str], slack: FakeSlack
) -> None:
    slack.granted_scopes.remove("files:read")
    code, text = await doctor(no_model=True)
    assert code == 1
    assert "files:read (reading files in questions" in line(text, "Slack scopes")
    assert "reinstall" in text


async def test_socket_mode_token_without_connections_write(
    env: dict[str, str], slack: FakeSlack, monkeypatch
) -> None:
    set_env(monkeypatch, SLACK_APP_TOKEN="xapp-no-scope")
    slack.app_tokens_without_connections.add("xapp-no-scope")
    code, text = await doctor(no_model=True)
    assert code == 1
    assert "missing_scope" in line(text, "Socket Mode")
    assert "connections:write" in text


async def test_socket_mode_with_a_bot_token_as_app_token(env: dict[str, str], monkeypatch) -> None:
    set_env(monkeypatch, SLACK_APP_TOKEN="xoxb-not-an-app-token")
    code, text = await doctor(no_model=True)
    assert code == 1
    assert "SLACK_APP_TOKEN is a bot token" in line(text, "Socket Mode")


async def test_a_working_socket_mode_token(env: dict[str, str], monkeypatch) -> None:
    set_env(monkeypatch, SLACK_APP_TOKEN="xapp-good")
    code, text = await doctor(no_model=True)
    assert code == 0, text
    assert line(text, "Socket Mode").startswith("✔")


async def test_a_model_the_server_does_not_list(env: dict[str, str], monkeypatch) -> None:
    set_env(monkeypatch, OPENAI_MODEL="no-such-model")
    code, text = await doctor()
    assert code == 1
    assert "'no-such-model' is not among the server's models (fake-model)" in text
    assert "set OPENAI_MODEL" in text


async def test_a_model_server_that_is_not_there(env: dict[str, str], monkeypatch) -> None:
    set_env(monkeypatch, OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1")
    code, text = await doctor()
    assert code == 1
    assert line(text, "Model server reachable").startswith("✘")
    assert "start the server or fix OPENAI_BASE_URL" in text


async def test_a_server_that_does_not_stream_tool_calls(
    env: dict[str, str], llm: FakeOpenAI
) -> None:
    llm.responder = lambda body: text_reply("It is noon.")
    code, text = await doctor()
    assert code == 1
    assert "answered in text instead of calling the tool" in line(text, "Tool calls")
    assert line(text, "Chat template").startswith("-")


async def test_a_template_that_refuses_tool_results(env: dict[str, str], llm: FakeOpenAI) -> None:
    def refuse_results(body: dict[str, Any]) -> Any:
        if any(m["role"] == "tool" for m in body["messages"]):
            return error_reply(400, "Conversation roles must alternate user/assistant")
        return tool_or_text(body)

    llm.responder = refuse_results
    code, text = await doctor()
    assert code == 1
    assert "refuses a tool result" in line(text, "Chat template")


async def test_no_usage_in_the_stream_fails_only_with_limits(
    env: dict[str, str], llm: FakeOpenAI, monkeypatch
) -> None:
    def no_usage(body: dict[str, Any]) -> Any:
        reply = tool_or_text(body)
        reply.omit_usage = True
        return reply

    llm.responder = no_usage
    code, text = await doctor()
    assert code == 0 and line(text, "Usage in the stream").startswith("✔"), text
    set_env(monkeypatch, USAGE_LIMIT_USER_DAILY_TOKENS="1000")
    code, text = await doctor()
    assert code == 1
    assert "does not report token usage" in line(text, "Usage in the stream")


@pytest.mark.parametrize("where", ["props", "models"])
async def test_context_window_sets_the_history_budget(
    env: dict[str, str], llm: FakeOpenAI, where: str
) -> None:
    llm.context_window, llm.window_reported_by = 2048, where
    code, text = await doctor()
    assert code == 0, text
    assert "2048 tokens" in line(text, "Context window")
    assert "history budget 1536" in text


async def test_a_history_budget_bigger_than_the_window(
    env: dict[str, str], llm: FakeOpenAI, monkeypatch
) -> None:
    llm.context_window = 2048
    set_env(monkeypatch, HISTORY_TOKEN_BUDGET="8000")
    code, text = await doctor()
    assert code == 1
    assert "set HISTORY_TOKEN_BUDGET to 1536 or less" in text


async def test_an_unreachable_database(env: dict[str, str], monkeypatch) -> None:
    set_env(monkeypatch, DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    code, text = await doctor(no_model=True)
    assert code == 1
    assert line(text, "Database").startswith("✘ Database: cannot connect")
    assert "fix DATABASE_URL" in text


async def test_a_database_behind_its_migrations(env: dict[str, str]) -> None:
    url = env["DATABASE_URL"]
    await upgrade_async(url, "0005")
    code, text = await doctor(no_model=True)
    assert code == 1
    assert "python -m bot migrate" in line(text, "Database") + text
    await upgrade_async(url)
    code, text = await doctor(no_model=True)
    assert code == 0, text
    assert "migrations at head" in line(text, "Database")


async def test_an_unreachable_redis(env: dict[str, str], monkeypatch) -> None:
    set_env(monkeypatch, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    code, text = await doctor(no_model=True)
    assert code == 1
    assert line(text, "Redis").startswith("✘ Redis: not reachable")


async def test_mcp_servers_start_and_list_tools(
    env: dict[str, str], monkeypatch, tmp_path: Path
) -> None:
    servers = {
        "kit": {"command": sys.executable, "args": [str(KIT)]},
        "broken": {"command": sys.executable, "args": ["-c", "raise SystemExit(3)"]},
    }
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}))
    set_env(monkeypatch, MCP_SERVERS=str(path))
    code, text = await doctor(no_model=True)
    assert code == 1
    assert line(text, "MCP server kit").startswith("✔") and "whoami" in text
    assert line(text, "MCP server broken").startswith("✘")


async def test_the_command_line_exits_non_zero_and_names_the_fix(
    env: dict[str, str], slack: FakeSlack
) -> None:
    slack.fail_next("auth.test", error="invalid_auth")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "doctor",
        "--no-model",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(ROOT),
        env={**__import__("os").environ, "PYTHONIOENCODING": "utf-8"},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 1, (text, err.decode())
    assert "✘ Slack auth.test: invalid_auth" in text
    assert "fix: SLACK_BOT_TOKEN is not a valid token" in text
    assert BOT_TOKEN not in text + err.decode()


async def test_a_server_that_echoes_the_key_does_not_print_it(
    env: dict[str, str], llm: FakeOpenAI
) -> None:
    llm.responder = lambda body: error_reply(401, f"Incorrect API key provided: {API_KEY}.")
    code, text = await doctor()  # `doctor` fails the test on any secret in the output
    assert code == 1
    assert "Incorrect API key provided: [secret]" in line(text, "Streamed answer")


async def test_search_scopes_are_optional(env: dict[str, str], slack: FakeSlack) -> None:
    slack.granted_scopes.remove("search:read.private")
    code, text = await doctor(no_model=True)
    assert code == 0, text
    assert "search_slack cannot use them: search:read.private" in line(text, "Slack scopes")
