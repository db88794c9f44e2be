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
    # complete | streaming | interrupted | failed | stopped
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
