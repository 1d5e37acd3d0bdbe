"""login failures: the login throttle, shared by every API process

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_username"), ["username"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_client"), ["client"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_at"), ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("login_failures")
