"""search: the full-text index of item texts, item categories, the audit log by target

Revision ID: 0008
Revises: 0007

The full-text index differs per database (`moderation.store.search`: FTS5 on SQLite, a
tsvector table under GIN on PostgreSQL); both are filled from the items already stored,
as are the categories. No PostgreSQL extension is needed: the words are folded in Python.
"""
import sqlalchemy as sa
from alembic import op

from moderation.store import search

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_categories",
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("item_pk", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("category", "item_pk", name=op.f("pk_item_categories")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_target"), ["target"], unique=False)
    conn = op.get_bind()
    search.text_index(conn.dialect.name).create(conn)
    search.rebuild(conn)


def downgrade() -> None:
    conn = op.get_bind()
    search.text_index(conn.dialect.name).drop(conn)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_target"))
    op.drop_table("item_categories")
