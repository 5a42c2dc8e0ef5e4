"""insight: the re-weigh tally trigger held while a recompute rewrites a challenge's weights

Revision ID: d2f6a9c4e1b7
Revises: c4a7e2d9b1f3
Create Date: 2026-12-03 11:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2f6a9c4e1b7'
down_revision = 'c4a7e2d9b1f3'
branch_labels = None
depends_on = None

# The re-weigh trigger as c4e8a1f2d3b5 made it, for the way down.
_REWEIGHED_BEFORE = (
    "CREATE TRIGGER insight_votes_reweighed AFTER UPDATE OF is_author, effort, standing, collusion, weight "
    "ON votes FOR EACH ROW WHEN ((OLD.is_author IS DISTINCT FROM NEW.is_author "
    "OR OLD.effort IS DISTINCT FROM NEW.effort OR OLD.standing IS DISTINCT FROM NEW.standing "
    "OR OLD.collusion IS DISTINCT FROM NEW.collusion OR OLD.weight IS DISTINCT FROM NEW.weight) "
    "AND OLD.idea_id IS NOT DISTINCT FROM NEW.idea_id AND OLD.pool IS NOT DISTINCT FROM NEW.pool "
    "AND OLD.challenge_id IS NOT DISTINCT FROM NEW.challenge_id) "
    "EXECUTE FUNCTION insight_vote_reweigh_tally()"
)


def upgrade():
    # PostgreSQL only: SQLite has no transaction-local setting to test (its trigger stays).
    # The trigger now skips every row while a recompute holds it
    # (`insight.tallies.hold_reweigh_trigger`): that recompute has set the challenge's
    # weight tallies aside and counts them once afterwards, so each call only looked for
    # a row that was not there. EXPLAIN ANALYZE at a million votes: 0.19 ms a call,
    # about 190 s of the 230 s the first policy change took.
    if op.get_bind().dialect.name == "postgresql":
        from ideas.insight import tallies

        tallies.install(op.get_bind())


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS insight_votes_reweighed ON votes")
        op.execute(_REWEIGHED_BEFORE)
