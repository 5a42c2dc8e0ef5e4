"""insight: participation and vote-weight tallies kept by triggers on votes and ideas;
the votes' dashboard covering indexes go; the scores the pools disagree on are indexed

Revision ID: c4e8a1f2d3b5
Revises: 59b19f562cb3
Create Date: 2026-12-02 02:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a1f2d3b5'
down_revision = '59b19f562cb3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'insight_activity',
        sa.Column('challenge_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('pool', sa.String(length=16), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('acts', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'],
                                name=op.f('fk_insight_activity_challenge_id_challenges'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['users.id'],
                                name=op.f('fk_insight_activity_person_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('challenge_id', 'day', 'pool', 'person_id', name=op.f('pk_insight_activity')),
    )
    op.create_table(
        'insight_vote_weights',
        sa.Column('idea_id', sa.Integer(), nullable=False),
        sa.Column('pool', sa.String(length=16), nullable=False),
        sa.Column('challenge_id', sa.Integer(), nullable=False),
        sa.Column('votes', sa.Integer(), nullable=False),
        sa.Column('counted', sa.Float(), nullable=False),
        sa.Column('effort', sa.Float(), nullable=False),
        sa.Column('standing', sa.Float(), nullable=False),
        sa.Column('collusion', sa.Float(), nullable=False),
        sa.Column('own_idea', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'],
                                name=op.f('fk_insight_vote_weights_challenge_id_challenges'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'],
                                name=op.f('fk_insight_vote_weights_idea_id_ideas'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('idea_id', 'pool', name=op.f('pk_insight_vote_weights')),
    )
    op.create_index('ix_insight_vote_weights_challenge', 'insight_vote_weights', ['challenge_id', 'pool'])
    op.create_index('ix_idea_scores_disagree', 'idea_scores', ['challenge_id'],
                    sqlite_where=sa.text('disagree IS 1'), postgresql_where=sa.text('disagree IS true'))
    # The triggers' text has one home, the module that also recounts: a later migration
    # that rebuilds `votes` or `ideas` on SQLite (batch_alter_table copies the table and
    # drops its triggers) calls `tallies.install` again.
    from ideas.insight import tallies

    bind = op.get_bind()
    tallies.install(bind)
    tallies.recount(connection=bind)  # what the votes and ideas already there add up to
    # The covering indexes the dashboards used to sum every vote from: nothing reads them
    # now, and every vote written (and every weight a recompute rewrites) had to update them.
    op.drop_index('ix_votes_challenge_quality', table_name='votes')
    op.drop_index('ix_votes_challenge_day_pool_voter', table_name='votes')


def downgrade():
    from ideas.insight import tallies

    op.create_index('ix_votes_challenge_day_pool_voter', 'votes', ['challenge_id', 'created_at', 'pool', 'voter_id'])
    op.create_index('ix_votes_challenge_quality', 'votes',
                    ['challenge_id', 'pool', 'is_author', 'effort', 'standing', 'collusion', 'weight'])
    tallies.uninstall(op.get_bind())
    op.drop_index('ix_idea_scores_disagree', table_name='idea_scores')
    op.drop_index('ix_insight_vote_weights_challenge', table_name='insight_vote_weights')
    op.drop_table('insight_vote_weights')
    op.drop_table('insight_activity')
