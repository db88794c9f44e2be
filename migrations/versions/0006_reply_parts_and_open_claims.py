"""Where each part of a reply is, and which claimed messages are still being answered.

`messages.parts` lists the Slack messages a reply spans (ts, where each starts in the
answer, the code fence it reopens), so crash recovery can end every one of them.
`claims` gain the thread, the replica answering and the placeholder's ts, and `settled`
once the reply's row exists (or nothing was owed): a claim left unsettled by a dead
replica is a message that recovery must answer or mark.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("parts", sa.JSON(), nullable=True))
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("thread_ts", sa.String(32), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(128), nullable=True))
        batch.add_column(sa.Column("reply_ts", sa.String(32), nullable=True))
        # Claims from before this revision were settled one way or another.
        batch.add_column(
            sa.Column("settled", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_index("ix_claims_open", "claims", ["settled", "owner"])


def downgrade() -> None:
    op.drop_index("ix_claims_open", table_name="claims")
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("settled")
        batch.drop_column("reply_ts")
        batch.drop_column("owner")
        batch.drop_column("thread_ts")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("parts")
