"""cases: index (status, due_at, created_at) for the overdue list

The overdue filter is ``status IN (received, classified, assigned, in_progress) AND due_at <
now``. Without this index SQLite walked ``ix_cases_due_at`` (almost every case is past due
once it is old) and read each row for its status; with it, the count is one covering range
per open status, and so is the newest-first page when few cases are overdue
(`cases.services.list_cases`). The figures are in docs/benchmarks.md ("API search").

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_status_due_created", ["status", "due_at", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_status_due_created")
