"""pending work: audit entries and recomputes a committed change still owes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 17:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pending_audits',
    sa.Column('uid', sa.String(length=32), nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('uid', name=op.f('pk_pending_audits'))
    )
    with op.batch_alter_table('pending_audits', schema=None) as batch_op:
        batch_op.create_index('ix_pending_audits_created_at', ['created_at'], unique=False)
    op.create_table('pending_recomputes',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_pending_recomputes_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_pending_recomputes'))
    )


def downgrade() -> None:
    op.drop_table('pending_recomputes')
    with op.batch_alter_table('pending_audits', schema=None) as batch_op:
        batch_op.drop_index('ix_pending_audits_created_at')
    op.drop_table('pending_audits')
