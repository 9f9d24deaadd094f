"""show replays

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 23:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('shows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replay_url', sa.String(length=500), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('send_replay', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('replay_enqueued_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('shows', schema=None) as batch_op:
        batch_op.drop_column('replay_enqueued_at')
        batch_op.drop_column('send_replay')
        batch_op.drop_column('replay_url')
