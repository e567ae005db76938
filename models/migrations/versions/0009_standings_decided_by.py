"""standings decided_by: tables stored before it are owed a recompute

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:30:00.000000

No schema change. Every stored table lacks the rows' `decided_by` until it is recomputed,
so each event with a snapshot is marked as owed one, already overdue: the follow-up sweeper
of the first server to start queues the recomputes (docs/standings.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # older than any grace period: due at once


def upgrade() -> None:
    snapshots = sa.table('standings_snapshots', sa.column('event_id', sa.Integer()))
    pending = sa.table(
        'pending_recomputes',
        sa.column('event_id', sa.Integer()),
        sa.column('requested_at', sa.DateTime(timezone=True)),
    )
    owed = sa.select(
        snapshots.c.event_id, sa.literal(LONG_AGO, sa.DateTime(timezone=True))
    ).where(
        ~sa.exists().where(pending.c.event_id == snapshots.c.event_id)
    )
    op.execute(pending.insert().from_select(['event_id', 'requested_at'], owed))


def downgrade() -> None:
    # Nothing to undo: older code ignores the extra field, and a recompute owed is harmless.
    pass
