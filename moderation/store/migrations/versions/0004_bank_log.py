"""bank log: every bank change, for the index shards to follow; items by creation time

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bank_log",
        sa.Column("seq", PK, autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_bank_log")),
    )
    with op.batch_alter_table("bank_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_log_at"), ["at"], unique=False)
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_created_at"), ["created_at"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # Entry ids must never be reused once the log names them: SQLite reuses the largest
        # deleted rowid unless the table is AUTOINCREMENT (PostgreSQL's sequences never do).
        with op.batch_alter_table("bank_entries", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_created_at"))
    with op.batch_alter_table("bank_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_log_at"))
    op.drop_table("bank_log")
