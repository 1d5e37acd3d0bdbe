"""account enforcement and appeals: strikes, enforcements, appeals

Revision ID: 0011
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "strikes",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("author_id", sa.String(length=128), nullable=False),
        sa.Column("item_pk", sa.BigInteger(), nullable=False),
        sa.Column("decision_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(length=128), nullable=True),
        sa.Column("removed_why", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(["item_pk"], ["items.pk"], name=op.f("fk_strikes_item_pk_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strikes")),
    )
    with op.batch_alter_table("strikes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_strikes_item_pk"), ["item_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_strikes_decision_id"), ["decision_id"], unique=False)
        batch_op.create_index("ix_strikes_author_live", ["author_id", "expires_at"], unique=False)

    op.create_table(
        "enforcements",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("author_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("strike_id", sa.BigInteger(), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("strikes", sa.Integer(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("item_pk", sa.BigInteger(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("statement", sa.JSON(), nullable=True),
        sa.Column("events", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=128), nullable=True),
        sa.Column("undone_why", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(["item_pk"], ["items.pk"], name=op.f("fk_enforcements_item_pk_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enforcements")),
    )
    with op.batch_alter_table("enforcements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enforcements_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enforcements_strike_id"), ["strike_id"], unique=False)

    op.create_table(
        "appeals",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("api_key_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.String(length=128), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("item_pk", sa.BigInteger(), nullable=False),
        sa.Column("enforcement_id", sa.BigInteger(), nullable=True),
        sa.Column("decision_id", sa.BigInteger(), nullable=True),
        sa.Column("decision_ref", sa.String(length=64), nullable=False),
        sa.Column("decision_by", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["item_pk"], ["items.pk"], name=op.f("fk_appeals_item_pk_items")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_appeals")),
        sa.UniqueConstraint("id", name=op.f("uq_appeals_id")),
        sa.UniqueConstraint("decision_ref", name=op.f("uq_appeals_decision_ref")),
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appeals_api_key_id"), ["api_key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appeals_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appeals_item_pk"), ["item_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_appeals_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appeals_task_id"))
        batch_op.drop_index(batch_op.f("ix_appeals_item_pk"))
        batch_op.drop_index(batch_op.f("ix_appeals_author_id"))
        batch_op.drop_index(batch_op.f("ix_appeals_api_key_id"))
    op.drop_table("appeals")
    with op.batch_alter_table("enforcements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enforcements_strike_id"))
        batch_op.drop_index(batch_op.f("ix_enforcements_author_id"))
    op.drop_table("enforcements")
    with op.batch_alter_table("strikes", schema=None) as batch_op:
        batch_op.drop_index("ix_strikes_author_live")
        batch_op.drop_index(batch_op.f("ix_strikes_decision_id"))
        batch_op.drop_index(batch_op.f("ix_strikes_item_pk"))
    op.drop_table("strikes")
