"""accounts: new people get a weekly digest by default

Revision ID: 5d1f8b3e6a27
Revises: 3c9e5a7d2b14
Create Date: 2026-12-01 22:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5d1f8b3e6a27'
down_revision = '3c9e5a7d2b14'
branch_labels = None
depends_on = None


def upgrade():
    # Only the default for rows written from now on changes: the people already here keep
    # the digest they have (nothing tells an explicit "never" from the old default, and
    # mail nobody asked for is worse than a digest somebody has to switch on).
    # SQLite cannot change a column's default without copying the users table, which most
    # tables reference; there the application's default (the model's) applies to every
    # insert the site makes.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE users ALTER COLUMN digest SET DEFAULT 'weekly'")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE users ALTER COLUMN digest SET DEFAULT 'none'")
