"""Provider fields on assistant messages, and a channel's reasoning effort.

`messages.provider_fields` keeps what a provider needs sent back with an assistant message
that carries tool calls (DeepSeek's `reasoning_content`); `channel_settings.reasoning_effort`
overrides REASONING_EFFORT in one channel ("" keeps the bot's setting).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("provider_fields", sa.JSON(), nullable=True))
    with op.batch_alter_table("channel_settings") as batch:
        batch.add_column(
            sa.Column("reasoning_effort", sa.String(16), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_settings") as batch:
        batch.drop_column("reasoning_effort")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("provider_fields")
