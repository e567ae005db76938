"""token families

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 23:57:35.292197
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per login: refresh tokens rotate within it, revoking it ends all its tokens.
    op.create_table('token_families',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('refresh_jti', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_token_families_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_token_families'))
    )
    with op.batch_alter_table('token_families', schema=None) as batch_op:
        batch_op.create_index('ix_token_families_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('ix_token_families_user_id', ['user_id'], unique=False)

    # Tokens issued before this second are refused (set on a password change).
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tokens_valid_after', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('tokens_valid_after')
    with op.batch_alter_table('token_families', schema=None) as batch_op:
        batch_op.drop_index('ix_token_families_user_id')
        batch_op.drop_index('ix_token_families_expires_at')
    op.drop_table('token_families')
