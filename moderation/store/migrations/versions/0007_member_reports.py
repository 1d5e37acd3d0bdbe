"""member reports: cases, reports, reporters; review tasks carry a case's weight

Revision ID: 0007
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0009"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    with op.batch_alter_table("review_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("weight", sa.Float(), nullable=True))

    op.create_table(
        "report_cases",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("target_kind", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("item_pk", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["item_pk"], ["items.pk"], name=op.f("fk_report_cases_item_pk_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_cases")),
    )
    with op.batch_alter_table("report_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_cases_item_pk"), ["item_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_cases_task_id"), ["task_id"], unique=False)
        # one open case per target: concurrent first reports on a target cannot open two
        batch_op.create_index(
            "uq_report_cases_open_target", ["target_kind", "target_id"], unique=True, sqlite_where=OPEN, postgresql_where=OPEN
        )

    op.create_table(
        "member_reports",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("api_key_id", sa.BigInteger(), nullable=False),
        sa.Column("reporter_id", sa.String(length=128), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("context_item_ids", sa.JSON(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["report_cases.id"], name=op.f("fk_member_reports_case_id_report_cases")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_member_reports")),
        sa.UniqueConstraint("id", name=op.f("uq_member_reports_id")),
    )
    with op.batch_alter_table("member_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_reports_api_key_id"), ["api_key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_reports_reporter_id"), ["reporter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_reports_case_id"), ["case_id"], unique=False)

    op.create_table(
        "reporters",
        sa.Column("reporter_id", sa.String(length=128), nullable=False),
        sa.Column("upheld", sa.Integer(), nullable=False),
        sa.Column("dismissed", sa.Integer(), nullable=False),
        sa.Column("bad_faith_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bad_faith_by", sa.String(length=128), nullable=True),
        sa.Column("bad_faith_note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reporter_id", name=op.f("pk_reporters")),
    )


def downgrade() -> None:
    op.drop_table("reporters")
    with op.batch_alter_table("member_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_reports_case_id"))
        batch_op.drop_index(batch_op.f("ix_member_reports_reporter_id"))
        batch_op.drop_index(batch_op.f("ix_member_reports_api_key_id"))
    op.drop_table("member_reports")
    with op.batch_alter_table("report_cases", schema=None) as batch_op:
        batch_op.drop_index("uq_report_cases_open_target")
        batch_op.drop_index(batch_op.f("ix_report_cases_task_id"))
        batch_op.drop_index(batch_op.f("ix_report_cases_item_pk"))
    op.drop_table("report_cases")
    with op.batch_alter_table("review_tasks", schema=None) as batch_op:
        batch_op.drop_column("weight")
