"""OAuth hardening: index the OAuth states that are now purged, room for encrypted tokens.

Expired rows of `slack_oauth_states` are deleted whenever a state is issued (`expire_at`
index) and a state is looked up by its value (`state` index). Tokens encrypted with
TOKEN_ENCRYPTION_KEY are longer than the 200 characters the token columns allowed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TOKEN_COLUMNS = {
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}


def upgrade() -> None:
    op.create_index("slack_oauth_states_expire_at_idx", "slack_oauth_states", ["expire_at"])
    op.create_index("slack_oauth_states_state_idx", "slack_oauth_states", ["state"])
    for table, columns in TOKEN_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.Text(), existing_type=sa.String(200))


def downgrade() -> None:
    for table, columns in TOKEN_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.String(200), existing_type=sa.Text())
    op.drop_index("slack_oauth_states_state_idx", table_name="slack_oauth_states")
    op.drop_index("slack_oauth_states_expire_at_idx", table_name="slack_oauth_states")
