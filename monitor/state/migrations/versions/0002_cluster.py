"""Several nodes on one database: alert claims, nodes, check leases, shared host spacing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as alerts:
        alerts.add_column(sa.Column("claimed_by", sa.String(64)))
        alerts.add_column(sa.Column("claimed_until", sa.DateTime))
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("listen", sa.String(255)),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
        sa.Column("stopped_at", sa.DateTime),
    )
    op.create_table(
        "check_leases",
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("node", sa.String(64)),
        sa.Column("claimed_at", sa.DateTime),
        sa.Column("lease_until", sa.DateTime),
        sa.Column("not_before", sa.DateTime),
    )
    op.create_table(
        "host_slots",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("next_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_statements_url", "statements", ["url"])
    # The hand-written migrations kept their schema version here; Alembic keeps its own.
    if sa.inspect(op.get_bind()).has_table("meta"):
        op.drop_table("meta")


def downgrade() -> None:
    op.drop_index("ix_statements_url", "statements")
    op.drop_table("host_slots")
    op.drop_table("check_leases")
    op.drop_table("nodes")
    with op.batch_alter_table("alerts") as alerts:
        alerts.drop_column("claimed_until")
        alerts.drop_column("claimed_by")
