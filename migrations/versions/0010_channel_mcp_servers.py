"""Per-channel choice of MCP servers (NULL: every configured server).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_settings") as batch:
        batch.add_column(sa.Column("mcp_servers", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_settings") as batch:
        batch.drop_column("mcp_servers")
