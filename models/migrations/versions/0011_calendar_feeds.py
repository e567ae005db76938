"""calendar feeds: a game's calendar SEQUENCE, per-user feed tokens

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 13:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Raised by every move of a game: calendar apps replace their copy of it.
    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('sequence', sa.Integer(), server_default='0', nullable=False)
        )
    # One feed token per user, stored hashed (it travels in URLs).
    op.create_table('calendar_tokens',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_calendar_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_tokens_token_hash'))
    )


def downgrade() -> None:
    op.drop_table('calendar_tokens')
    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.drop_column('sequence')
