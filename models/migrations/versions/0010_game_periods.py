"""game periods: per-period scores (halves, quarters, sets, innings) of a game

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every game so far has no breakdown recorded: '[]', as the API shows it.
    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('periods', sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.drop_column('periods')
