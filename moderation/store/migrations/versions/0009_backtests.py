"""backtests: the summary of each `moderation backtest`, for the stats page

Revision ID: 0009
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
# Branches 0006 to 0008 are merged separately; this revision is re-chained after them then.
down_revision = "0005"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "backtests",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("workers", sa.String(length=16), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("automation_before", sa.Float(), nullable=True),
        sa.Column("automation_after", sa.Float(), nullable=True),
        sa.Column("precision_before", sa.Float(), nullable=True),
        sa.Column("precision_after", sa.Float(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtests")),
    )
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backtests_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("backtests")
