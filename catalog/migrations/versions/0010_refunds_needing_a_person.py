"""refunds needing a person

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_failed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('refund_failure', sa.String(length=300), nullable=False, server_default=sa.text("''")))


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('refund_failure')
        batch_op.drop_column('refund_failed_at')
