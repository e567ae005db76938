"""hot query indexes: users by lower(email), for sign-in and sign-up

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:30:00.000000

tests/perf/explain_hot.py found one hot statement whose plan read a whole table on realistic
data: the sign-in (and sign-up) lookup `WHERE lower(users.email) = $1`, a sequential scan of
users (4.7 ms at 5,000 users, growing with every user) that the unique index on `email` cannot
serve. Plans before and after: docs/performance.md, "Indexes".

A plain CREATE INDEX (not CONCURRENTLY): CONCURRENTLY waits for every older transaction of the
whole database, which on a shared server can hold a migration for as long as any of them. On a
users table of millions of rows, create it CONCURRENTLY by hand first; this is then a no-op.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'ix_users_email_lower', 'users', [sa.text('lower(email)')], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index('ix_users_email_lower', table_name='users')
