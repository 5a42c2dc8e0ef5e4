"""voting: indexes the dashboards' participation and vote-quality figures read alone

Revision ID: 8e4a2c6f1d93
Revises: 5d1f8b3e6a27
Create Date: 2026-12-01 22:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '8e4a2c6f1d93'
down_revision = '5d1f8b3e6a27'
branch_labels = None
depends_on = None


def upgrade():
    # Covering indexes: a challenge's million votes are summed from the index entries
    # (index-only scans), not by visiting every row of the votes table.
    op.create_index('ix_votes_challenge_day_pool_voter', 'votes', ['challenge_id', 'created_at', 'pool', 'voter_id'])
    op.create_index('ix_votes_challenge_quality', 'votes',
                    ['challenge_id', 'pool', 'is_author', 'effort', 'standing', 'collusion', 'weight'])


def downgrade():
    op.drop_index('ix_votes_challenge_quality', table_name='votes')
    op.drop_index('ix_votes_challenge_day_pool_voter', table_name='votes')
