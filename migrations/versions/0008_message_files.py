"""What the bot read from files on messages (text, or images as data URLs).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "message_files",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "message_id",
            BigId,
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("file_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("user_id", sa.String(32), nullable=True),
        sa.Column("name", sa.String(255), nullable=False, server_default=""),
        sa.Column("mimetype", sa.String(128), nullable=False, server_default=""),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False, server_default=""),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_message_files_message", "message_files", ["message_id"])
    op.create_index("ix_message_files_file", "message_files", ["team_id", "file_id"])


def downgrade() -> None:
    op.drop_index("ix_message_files_file", "message_files")
    op.drop_index("ix_message_files_message", "message_files")
    op.drop_table("message_files")
