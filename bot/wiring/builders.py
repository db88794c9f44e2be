"""Settings mapped onto the parts the bot and the console share: model, edit limits, turns, files."""

from __future__ import annotations

from typing import Any

import openai
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.approvals import ApprovalStore
from bot.db.replicas import ReplicaRegistry
from bot.files.reader import FileReader
from bot.files.workers import Extractors
from bot.llm.client import ChatModel, StreamPolicy
from bot.llm.context_window import ContextWindows
from bot.llm.model_facts import ModelFacts
from bot.settings import Settings
from bot.slack.budget import Limit
from bot.slack.reply.choose import ReplyStyle, budget_limits
from bot.slack.writer import SlackWriter
from bot.telemetry.metrics import Metrics
from bot.turns.approval import Approvals
from bot.turns.request import TurnConfig


def chat_model(s: Settings, client: openai.AsyncOpenAI) -> ChatModel:
    """Build the streaming model client from Settings (the bot and the console share it)."""
    return ChatModel(
        client=client,
        model=s.openai_model,
        policy=StreamPolicy(idle_timeout=s.stream_idle_timeout, max_retries=s.stream_max_retries),
        max_tokens=s.max_output_tokens,
        reasoning_effort=s.reasoning_effort.strip(),
        windows=context_windows(s),
        facts=ModelFacts(ttl=s.model_facts_ttl),
    )


def context_windows(s: Settings) -> ContextWindows | None:
    """Follow the window a self-hosted server reports (OpenAI's own API reports none)."""
    if not s.openai_base_url:
        return None
    return ContextWindows(
        base_url=s.openai_base_url,
        api_key=s.openai_api_key,
        configured_budget=s.history_token_budget,
        budget_is_set="history_token_budget" in s.model_fields_set,
        max_output_tokens=s.max_output_tokens,
    )


def edit_limits(s: Settings) -> dict[str, Limit]:
    """Return the edit budget's limits from Settings (the bot and the console share them)."""
    return budget_limits(
        s.edit_budget_per_minute,
        s.edit_budget_burst,
        s.append_budget_per_minute,
        s.append_budget_burst,
    )


def turn_config(s: Settings) -> TurnConfig:
    """Map Settings onto the knobs of a turn (the bot and the console share it)."""
    return TurnConfig(
        system_prompt=s.system_prompt,
        reply=ReplyStyle(
            mode=s.stream_mode,
            update_interval=s.slack_update_interval,
            native_interval=s.native_flush_interval,
            limit=s.slack_message_max_chars,
        ),
        history_budget=s.history_token_budget,
        turn_deadline=s.turn_deadline,
        max_concurrent=s.max_concurrent_answers,
        max_concurrent_per_user=s.max_concurrent_answers_per_user,
        max_tool_rounds=s.max_tool_rounds,
        reply_buttons=s.reply_buttons,
        usage_footer=s.usage_footer,
        reorder_window=s.reorder_window,
        search_user_token=s.slack_search_user_token or "",
    )


def file_reader(s: Settings, fetcher: Any) -> FileReader | None:
    """Build the reader of files in questions (the bot and the console share it)."""
    if s.files_max_per_question <= 0:
        return None
    return FileReader(
        fetcher=fetcher,
        extractors=Extractors(
            s.file_workers, timeout=s.file_read_timeout, memory_mb=s.file_worker_memory_mb
        ),
        max_bytes=s.file_max_bytes,
        max_files=s.files_max_per_question,
        vision=s.vision,
    )


def approvals(
    s: Settings,
    engine: AsyncEngine,
    writer: SlackWriter,
    metrics: Metrics,
    replicas: ReplicaRegistry,
) -> Approvals:
    """Build the approvals of tool calls that change things (APPROVAL_TIMEOUT, APPROVERS)."""
    return Approvals(
        ApprovalStore(engine, owner=replicas.replica_id),
        writer,
        metrics,
        timeout=s.approval_timeout,
        approvers=frozenset(u.strip() for u in s.approvers.split(",") if u.strip()),
        stale_after=s.replica_stale_after,
        judging=lambda: replicas.judging,
    )
