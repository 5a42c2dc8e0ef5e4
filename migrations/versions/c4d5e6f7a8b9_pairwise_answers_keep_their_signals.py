"""pairwise answers keep the signals their weight came from

Revision ID: c4d5e6f7a8b9
Revises: c4d7e19a2b60
Create Date: 2026-12-02 02:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d5e6f7a8b9'
down_revision = 'c4d7e19a2b60'
branch_labels = None
depends_on = None

COLUMNS = (
    ('words_shown', sa.Integer()),
    ('identity', sa.String(length=24)),
    ('account_age_seconds', sa.Float()),
    ('contributions_90d', sa.Integer()),
    ('same_side_ratio', sa.Float()),
    ('side_answers', sa.Integer()),
)


def upgrade():
    # Answers given before keep the weight they were given (their signals are not known);
    # a policy change weighs every later answer again from these.
    with op.batch_alter_table('pair_answers') as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade():
    with op.batch_alter_table('pair_answers') as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
