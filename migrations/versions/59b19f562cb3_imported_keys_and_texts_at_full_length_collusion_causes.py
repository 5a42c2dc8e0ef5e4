"""imported keys and texts at full length; each vote keeps its collusion causes

Revision ID: 59b19f562cb3
Revises: 8e4a2c6f1d93
Create Date: 2026-12-01 21:10:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '59b19f562cb3'
down_revision = '8e4a2c6f1d93'
branch_labels = None
depends_on = None

COLLUSION_CODES = ("burst", "shared_network", "lockstep", "reciprocal", "voter_burst")


def upgrade():
    # Keys from other platforms run up to 255 characters; summaries imported from them
    # are kept whole (the form still keeps typed ones to a paragraph).
    with op.batch_alter_table('challenges') as batch:
        batch.alter_column('external_ref', existing_type=sa.String(length=120), type_=sa.String(length=255))
    with op.batch_alter_table('ideas') as batch:
        batch.alter_column('external_ref', existing_type=sa.String(length=120), type_=sa.String(length=255))
        batch.alter_column('summary', existing_type=sa.String(length=1000), type_=sa.Text(),
                           existing_nullable=False)
    with op.batch_alter_table('idea_revisions') as batch:
        batch.alter_column('summary', existing_type=sa.String(length=1000), type_=sa.Text(),
                           existing_nullable=False)
    op.add_column('votes', sa.Column('collusion_discounts', sa.Text(), nullable=False, server_default='[]'))
    # Votes the collusion rules caught keep their causes: until now they lived only
    # among the weight's discounts (where the policy weighed collusion).
    bind = op.get_bind()
    votes = sa.table('votes', sa.column('id', sa.Integer), sa.column('discounts', sa.Text),
                     sa.column('collusion_discounts', sa.Text), sa.column('collusion', sa.Float))
    found = []
    for vote_id, discounts in bind.execute(sa.select(votes.c.id, votes.c.discounts).where(votes.c.collusion < 1)):
        causes = [d for d in json.loads(discounts or "[]") if d and d[0] in COLLUSION_CODES]
        if causes:
            found.append({"vote_id": vote_id, "causes": json.dumps(causes)})
    if found:
        bind.execute(votes.update().where(votes.c.id == sa.bindparam("vote_id"))
                     .values(collusion_discounts=sa.bindparam("causes")), found)


def downgrade():
    op.drop_column('votes', 'collusion_discounts')
    with op.batch_alter_table('idea_revisions') as batch:
        batch.alter_column('summary', existing_type=sa.Text(), type_=sa.String(length=1000),
                           existing_nullable=False)
    with op.batch_alter_table('ideas') as batch:
        batch.alter_column('summary', existing_type=sa.Text(), type_=sa.String(length=1000),
                           existing_nullable=False)
        batch.alter_column('external_ref', existing_type=sa.String(length=255), type_=sa.String(length=120))
    with op.batch_alter_table('challenges') as batch:
        batch.alter_column('external_ref', existing_type=sa.String(length=255), type_=sa.String(length=120))
