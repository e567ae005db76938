"""schedule management: event schedule rules, postponed games and the status they left

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('scheduled', 'live', 'final', 'cancelled')"
NEW_STATUSES = "status IN ('scheduled', 'live', 'final', 'cancelled', 'postponed')"


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule_rules', sa.JSON(), nullable=True))
    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_status', sa.String(length=10), nullable=True))
        batch_op.drop_constraint(op.f('ck_games_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_games_status'), NEW_STATUSES)


def downgrade() -> None:
    # Postponed games go back on the schedule, without a time; cancelled ones stay cancelled.
    op.execute("UPDATE games SET status = 'scheduled' WHERE status = 'postponed'")
    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_games_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_games_status'), OLD_STATUSES)
        batch_op.drop_column('held_status')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('schedule_rules')
