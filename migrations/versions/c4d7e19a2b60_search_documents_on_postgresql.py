"""search documents on PostgreSQL: idea_search with GIN indexes, an accent-folding English configuration

Revision ID: c4d7e19a2b60
Revises: c4e8a1f2d3b5
Create Date: 2026-12-02 02:40:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = 'c4d7e19a2b60'
down_revision = 'c4e8a1f2d3b5'
branch_labels = None
depends_on = None

VECTOR = postgresql.TSVECTOR().with_variant(sa.Text(), 'sqlite')
STATUSES = "'published', 'withdrawn', 'merged'"
# The documents of the ideas already published, as ideas/search/postgres.py writes them.
BACKFILL = f"""
INSERT INTO idea_search (idea_id, document, likeness)
SELECT i.id,
       setweight(to_tsvector('ideas_search', coalesce(i.title, '')), 'A')
       || setweight(to_tsvector('ideas_search', coalesce(i.summary, '')), 'B')
       || setweight(to_tsvector('ideas_search', coalesce(t.tags, '')), 'C')
       || setweight(to_tsvector('ideas_search', coalesce(i.body, '') || E'\\n' || coalesce(c.comments, '')), 'D'),
       setweight(to_tsvector('ideas_search', coalesce(i.title, '')), 'A')
       || setweight(to_tsvector('ideas_search', coalesce(i.summary, '')), 'B')
FROM ideas i
LEFT JOIN LATERAL (SELECT string_agg(tag, ' ' ORDER BY tag) AS tags FROM idea_tags WHERE idea_id = i.id) t ON true
LEFT JOIN LATERAL (
    SELECT left(string_agg(body, E'\\n' ORDER BY id), 200000) AS comments
    FROM comments WHERE idea_id = i.id AND hidden_at IS NULL
) c ON true
WHERE i.status IN ({STATUSES})
"""


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        # English stemming and stop words, with accents folded so "cafe" finds "café"
        # (unaccent is a trusted extension: the database's owner may create it).
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        op.execute("""
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'ideas_search') THEN
                    CREATE TEXT SEARCH CONFIGURATION ideas_search (COPY = english);
                    ALTER TEXT SEARCH CONFIGURATION ideas_search
                        ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
                END IF;
            END $$
        """)
    # On SQLite the table exists (one schema everywhere) and stays empty: Whoosh answers there.
    op.create_table(
        'idea_search',
        sa.Column('idea_id', sa.Integer(), nullable=False),
        sa.Column('document', VECTOR, nullable=False),
        sa.Column('likeness', VECTOR, nullable=False),
        sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_idea_search_idea_id_ideas'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('idea_id', name=op.f('pk_idea_search')),
    )
    op.create_index('ix_idea_search_document', 'idea_search', ['document'], postgresql_using='gin')
    op.create_index('ix_idea_search_likeness', 'idea_search', ['likeness'], postgresql_using='gin')
    if postgres:
        op.execute(BACKFILL)


def downgrade():
    op.drop_index('ix_idea_search_likeness', table_name='idea_search')
    op.drop_index('ix_idea_search_document', table_name='idea_search')
    op.drop_table('idea_search')
    if op.get_bind().dialect.name == 'postgresql':
        # The unaccent extension stays: other schemas of this database may use it.
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS ideas_search")
