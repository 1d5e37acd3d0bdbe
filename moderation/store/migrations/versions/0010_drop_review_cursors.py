"""drop review_cursors: QA is drawn when an item is written, nothing reads a cursor

Revision ID: 0010
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("review_cursors")


def downgrade() -> None:
    op.create_table(
        "review_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_review_cursors")),
    )
