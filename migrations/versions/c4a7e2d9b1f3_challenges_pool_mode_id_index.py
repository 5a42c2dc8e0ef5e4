"""challenges: an index by pool mode and id, for paging the challenges open to a pool

Revision ID: c4a7e2d9b1f3
Revises: c4d5e6f7a8b9
Create Date: 2026-12-02 03:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4a7e2d9b1f3'
down_revision = 'c4d5e6f7a8b9'
branch_labels = None
depends_on = None


def upgrade():
    # A page of challenges reads, per audience, the newest ids of its pool modes: with
    # this index each read stops after one page, however many challenges are hidden.
    op.create_index('ix_challenges_pool_mode_id', 'challenges', ['pool_mode', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_challenges_pool_mode_id', table_name='challenges')
