"""Tool calls waiting for a person's approval; approval counts on usage records.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "message_id",
            BigId,
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=False),
        sa.Column("question_ts", sa.String(32), nullable=False),
        sa.Column("reply_ts", sa.String(32), nullable=True),
        sa.Column("asker", sa.String(32), nullable=False),
        sa.Column("tool", sa.String(128), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("prompt_ts", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(32), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("done", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("message_id", "call_id", name="uq_approvals_call"),
    )
    op.create_index("ix_approvals_status", "approvals", ["status", "expires_at"])
    op.create_index("ix_approvals_open", "approvals", ["done"])
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(sa.Column("approvals", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_column("approvals")
    op.drop_index("ix_approvals_open", table_name="approvals")
    op.drop_index("ix_approvals_status", table_name="approvals")
    op.drop_table("approvals")
