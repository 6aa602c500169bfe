"""The schema of statement-monitor 0.1 (what hand-written schema version 2 was).

A database from before the migrations (its tables made by `create_all`, its version in the
`meta` table) already has these tables: then only what schema version 1 lacked is added.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ARCHIVE_COLUMNS = (
    ("archive_file", sa.String(64)),
    ("archive_offset", sa.BigInteger()),
    ("archive_length", sa.BigInteger()),
    ("archive_digest", sa.String(80)),
)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if inspector.has_table("sources"):
        _complete_version_1(inspector)
        return
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_check_at", sa.DateTime),
        sa.Column("last_success_at", sa.DateTime),
        sa.Column("last_change_at", sa.DateTime),
        sa.Column("last_status", sa.String(16)),
        sa.Column("last_error", sa.Text),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("content_hash", sa.String(64)),
    )
    op.create_table(
        "statements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "source_id", sa.Integer, sa.ForeignKey("sources.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("discovered_as", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text),
        sa.Column("listed_published", sa.Date),
        sa.Column("title", sa.Text),
        sa.Column("first_seen_at", sa.DateTime, nullable=False),
        sa.Column("last_checked_at", sa.DateTime),
        sa.Column("last_changed_at", sa.DateTime),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("container", sa.Text),
        sa.Column("container_digest", sa.String(64)),
        sa.UniqueConstraint("source_id", "url"),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "statement_id",
            sa.Integer,
            sa.ForeignKey("statements.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("fetched_at", sa.DateTime, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("normalized", sa.Text, nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("published", sa.Date),
        sa.Column("final_url", sa.Text),
        sa.Column("canonical_url", sa.Text),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("raw", sa.LargeBinary),
        *(sa.Column(name, kind) for name, kind in ARCHIVE_COLUMNS),
        sa.UniqueConstraint("statement_id", "version"),
    )
    _create_captures()
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "source_id", sa.Integer, sa.ForeignKey("sources.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("statement_id", sa.Integer, sa.ForeignKey("statements.id", ondelete="SET NULL")),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("version", sa.Integer),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "event_id", sa.Integer, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("notifier", sa.String(100), nullable=False),
        sa.Column("delivery_id", sa.String(64), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", sa.DateTime),
    )
    op.create_index("ix_snapshots_statement", "snapshots", ["statement_id", "version"])
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_alerts_due", "alerts", ["status", "next_attempt_at"])


def _complete_version_1(inspector: sa.Inspector) -> None:
    """A pre-migration database: add the archive columns and table (schema version 2)."""
    have = {column["name"] for column in inspector.get_columns("snapshots")}
    for name, kind in ARCHIVE_COLUMNS:
        if name not in have:
            op.add_column("snapshots", sa.Column(name, kind))
    if not inspector.has_table("captures"):
        _create_captures()


def _create_captures() -> None:
    op.create_table(
        "captures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "statement_id",
            sa.Integer,
            sa.ForeignKey("statements.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("fetched_at", sa.DateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("final_url", sa.Text),
        *(sa.Column(name, kind, nullable=False) for name, kind in ARCHIVE_COLUMNS),
    )


def downgrade() -> None:
    raise NotImplementedError("the first revision cannot be undone")
