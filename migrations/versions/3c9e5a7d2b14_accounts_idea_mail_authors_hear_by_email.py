"""accounts: idea_mail, authors hear by e-mail about their own ideas

Revision ID: 3c9e5a7d2b14
Revises: b3c1d2e4f5a6
Create Date: 2026-12-01 22:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c9e5a7d2b14'
down_revision = 'b3c1d2e4f5a6'
branch_labels = None
depends_on = None


def upgrade():
    # On for everyone, existing people included: hearing what became of one's own idea
    # is the default (each person can turn it off on their notifications page).
    # A plain ADD/DROP COLUMN (no table copy): users is referenced by most tables.
    op.add_column('users', sa.Column('idea_mail', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    op.drop_column('users', 'idea_mail')
