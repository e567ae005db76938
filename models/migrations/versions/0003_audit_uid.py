"""audit uid

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 23:33:14.083154
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows get a uid derived from their id; new rows get one from the writer.
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uid', sa.String(length=32), nullable=True))
    op.execute("UPDATE audit_entries SET uid = 'legacy-' || id")
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.alter_column('uid', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_entries_uid'), ['uid'])


def downgrade() -> None:
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_entries_uid'), type_='unique')
        batch_op.drop_column('uid')
