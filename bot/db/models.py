"""Tables: the stored conversation and the claim that makes each message answered once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base for every table."""


class Message(Base):
    """One message of a thread as the model sees it: user, assistant (with tool calls) or tool."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    tool_calls: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    tool_call_id: Mapped[str | None] = mapped_column(String(128))
    # Fields a provider needs back on an assistant message with tool calls (DeepSeek's
    # reasoning_content); never shown, never counted as the answer.
    provider_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # a ReplyStatus value (bot.db.records)
    status: Mapped[str] = mapped_column(String(16), default="complete")
    owner: Mapped[str | None] = mapped_column(String(128))  # the replica streaming it
    # The Slack messages a reply spans: [ts, start in the answer, reopened fence] each.
    parts: Mapped[list[list[Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        Index("ix_messages_thread", "team_id", "channel_id", "thread_ts", "id"),
        Index("ix_messages_status", "status"),
    )


class Claim(Base):
    """A Slack message someone claimed to answer; the primary key makes the claim exclusive."""

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_open", "settled", "owner"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    message_ts: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str | None] = mapped_column(String(64))
    thread_ts: Mapped[str | None] = mapped_column(String(32))  # where the answer goes
    owner: Mapped[str | None] = mapped_column(String(128))  # the replica answering it
    reply_ts: Mapped[str | None] = mapped_column(String(32))  # its placeholder, once posted
    # False from the claim until the reply's row exists (or nothing was owed): an open
    # claim of a dead replica is a message crash recovery answers or marks.
    settled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=true())
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ChannelSetting(Base):
    """How the bot behaves in one channel or DM, as set with the slash command."""

    __tablename__ = "channel_settings"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    preset: Mapped[str] = mapped_column(String(32), default="default")
    language: Mapped[str] = mapped_column(String(64), default="")
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str] = mapped_column(String(128), default="")
    temperature: Mapped[float | None] = mapped_column(Float)
    reasoning_effort: Mapped[str] = mapped_column(String(16), default="")
    mcp_servers: Mapped[list[str] | None] = mapped_column(JSON)  # None: every server
    updated_by: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Feedback(Base):
    """A user's rating of one answer (the assistant message it rates); one per user."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("messages.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    rating: Mapped[str] = mapped_column(String(8))  # good | bad
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (UniqueConstraint("message_id", "user_id", name="uq_feedback_message_user"),)


class UsageRecord(Base):
    """The tokens, time and tool calls one answer cost, for reports, limits and billing."""

    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str] = mapped_column(String(32))  # the question answered
    model: Mapped[str] = mapped_column(String(128))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0)  # part of completion
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)  # part of prompt
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)  # prompt + completion
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)  # some figures estimated
    duration: Mapped[float] = mapped_column(Float, default=0.0)  # seconds
    tool_calls: Mapped[int] = mapped_column(Integer, default=0)
    rounds: Mapped[int] = mapped_column(Integer, default=0)  # model requests, retries included
    status: Mapped[str] = mapped_column(String(16), default="complete")
    # Tool calls that waited for a person: {"approved": n, "denied": n, "expired": n}.
    approvals: Mapped[dict[str, int] | None] = mapped_column(JSON)
    # Set by the bot from its (injectable) wall clock: days and months are counted on it.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_usage_user", "team_id", "user_id", "created_at"),
        Index("ix_usage_channel", "team_id", "channel_id", "created_at"),
        Index("ix_usage_team", "team_id", "created_at"),
        Index("ix_usage_created", "created_at"),
    )


class UsageReservation(Base):
    """An answer in flight, held against the usage limits until its usage record is written.

    `spent` is what its finished rounds used, `held` the estimate for the round under way;
    a crashed process leaves its rows behind, and they stop counting at `expires_at`.
    """

    __tablename__ = "usage_reservations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    spent: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_usage_reservations_team", "team_id", "expires_at"),)


class MessageFile(Base):
    """What the bot read from a file on a message: text, or an image as a data URL."""

    __tablename__ = "message_files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("messages.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    file_id: Mapped[str] = mapped_column(String(64), default="")  # Slack's file id
    user_id: Mapped[str | None] = mapped_column(String(32))  # who uploaded it
    name: Mapped[str] = mapped_column(String(255), default="")
    mimetype: Mapped[str] = mapped_column(String(128), default="")
    kind: Mapped[str] = mapped_column(String(16))  # text | image
    content: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_message_files_message", "message_id"),
        Index("ix_message_files_file", "team_id", "file_id"),
    )


class Approval(Base):
    """A tool call waiting for (or given) a person's decision before it runs.

    One row per call of a round (the assistant message `message_id` that asked for it); the
    decision is written by one conditional UPDATE while it is `pending`, so a click counts once.
    """

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("messages.id", ondelete="CASCADE"))
    call_id: Mapped[str] = mapped_column(String(128))
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    question_ts: Mapped[str] = mapped_column(String(32))  # the message the turn answers
    reply_ts: Mapped[str | None] = mapped_column(String(32))  # the reply it streams into
    asker: Mapped[str] = mapped_column(String(32))
    tool: Mapped[str] = mapped_column(String(128))
    arguments: Mapped[str] = mapped_column(Text, default="")
    prompt_ts: Mapped[str | None] = mapped_column(String(32))  # the message with the buttons
    status: Mapped[str] = mapped_column(String(16), default="pending")  # a Decision value
    decided_by: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[float] = mapped_column(Float)  # wall-clock seconds (time.time())
    # Set once the round's answer went past it (results stored, or the answer ended): the
    # replicas' sweep for rounds to carry on looks only at rows not done.
    done: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("message_id", "call_id", name="uq_approvals_call"),
        Index("ix_approvals_status", "status", "expires_at"),
        Index("ix_approvals_open", "done"),
    )
