"""voting: reason specificity per vote, and each pool's scale for the blend

Revision ID: b3c1d2e4f5a6
Revises: 27bc2424c0c6
Create Date: 2026-12-01 21:15:00.000000

"""
from alembic import op
import sqlalchemy as sa

import ideas.extensions


# revision identifiers, used by Alembic.
revision = 'b3c1d2e4f5a6'
down_revision = '27bc2424c0c6'
branch_labels = None
depends_on = None


def upgrade():
    # Votes cast before specificity was measured keep full credit for their reason
    # (their reasons were judged by length alone): 1.
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_specificity', sa.Float(), server_default='1', nullable=False))
    op.create_table(
        'pool_scales',
        sa.Column('challenge_id', sa.Integer(), nullable=False),
        sa.Column('pool', sa.String(length=16), nullable=False),
        sa.Column('heard', sa.Float(), nullable=False),
        sa.Column('applied_best', sa.Float(), nullable=False),
        sa.Column('applied_heard', sa.Float(), nullable=False),
        sa.Column('updated_at', ideas.extensions.UTCDateTime(), nullable=False),
        sa.CheckConstraint("pool IN ('employee', 'external')", name=op.f('ck_pool_scales_pool')),
        sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_pool_scales_challenge_id_challenges'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('challenge_id', 'pool', name=op.f('pk_pool_scales')),
    )


def downgrade():
    op.drop_table('pool_scales')
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_column('reason_specificity')
