"""Record which replica streams each reply, and the replicas' heartbeats.

A replica marks a streaming reply as interrupted only when the reply's owner stopped
beating, so replicas never clobber each other's live answers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("owner", sa.String(128), nullable=True))
    op.create_table(
        "replicas",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("heartbeat_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("replicas")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("owner")
