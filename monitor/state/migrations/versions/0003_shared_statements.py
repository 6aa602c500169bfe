"""One statement per canonical URL, shared by the sources that track it.

Until now each source had its own row for a URL, so a statement two sources tracked was two
statements: one edit gave two versions, two events, two alerts per notifier. Now a statement
is one `statements` row (its URL unique) and `source_statements` links it to every source
tracking it, with what that source's listing says of it (moved, alias, how to announce it).

Existing duplicates (one URL, several rows) are merged into the row with the most versions
(then the active one, then the oldest); the others are folded into it:

- its versions are dropped from the timeline, which stays the kept row's (the same page
  fetched by two sources gives the same texts twice); each one's archived page is kept, as a
  capture of the kept statement, so no evidence is lost (`archive export` and `verify` still
  see it); a version without an archive record is dropped (its raw page with it);
- its captures move to the kept statement;
- its events point to the kept statement, still under the source that recorded them;
- its source is linked to the kept statement.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The tables as this revision finds them (its own copy: schema.py moves on).
_statements = sa.table(
    "statements",
    sa.column("id", sa.Integer),
    sa.column("source_id", sa.Integer),
    sa.column("url", sa.Text),
    sa.column("status", sa.String),
    sa.column("discovered_as", sa.String),
    sa.column("summary", sa.Text),
    sa.column("listed_published", sa.Date),
    sa.column("first_seen_at", sa.DateTime),
    sa.column("last_checked_at", sa.DateTime),
    sa.column("version", sa.Integer),
)
_links = sa.table(
    "source_statements",
    sa.column("source_id", sa.Integer),
    sa.column("statement_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("discovered_as", sa.String),
    sa.column("summary", sa.Text),
    sa.column("listed_published", sa.Date),
)
_snapshots = sa.table(
    "snapshots",
    sa.column("id", sa.Integer),
    sa.column("statement_id", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("fetched_at", sa.DateTime),
    sa.column("text_hash", sa.String),
    sa.column("final_url", sa.Text),
    sa.column("archive_file", sa.String),
    sa.column("archive_offset", sa.BigInteger),
    sa.column("archive_length", sa.BigInteger),
    sa.column("archive_digest", sa.String),
)
_captures = sa.table(
    "captures",
    sa.column("id", sa.Integer),
    sa.column("statement_id", sa.Integer),
    sa.column("fetched_at", sa.DateTime),
    sa.column("version", sa.Integer),
    sa.column("final_url", sa.Text),
    sa.column("archive_file", sa.String),
    sa.column("archive_offset", sa.BigInteger),
    sa.column("archive_length", sa.BigInteger),
    sa.column("archive_digest", sa.String),
)
_events = sa.table("events", sa.column("statement_id", sa.Integer))

# A row's status was the page's (pending, active, removed) or its listing's (moved, alias).
_LISTING_STATUSES = ("moved", "alias")


def upgrade() -> None:
    op.create_table(
        "source_statements",
        sa.Column(
            "source_id",
            sa.Integer,
            sa.ForeignKey("sources.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "statement_id",
            sa.Integer,
            sa.ForeignKey("statements.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("discovered_as", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text),
        sa.Column("listed_published", sa.Date),
    )
    _merge_duplicates_and_link(op.get_bind())
    op.drop_index("ix_statements_url", "statements")
    # SQLite rebuilds the table (render_as_batch); PostgreSQL drops the columns, and with
    # source_id its foreign key and the UNIQUE (source_id, url) constraint.
    with op.batch_alter_table("statements") as statements:
        statements.drop_column("source_id")
        statements.drop_column("discovered_as")
        statements.drop_column("summary")
        statements.drop_column("listed_published")
    op.create_index("ix_statements_url", "statements", ["url"], unique=True)
    op.create_index("ix_source_statements_statement", "source_statements", ["statement_id"])


def _merge_duplicates_and_link(conn: sa.Connection) -> None:
    """Link every row's source to the statement kept for its URL; fold duplicates into it."""
    by_url: dict[str, list[Any]] = defaultdict(list)
    for row in conn.execute(sa.select(_statements).order_by(_statements.c.id)):
        by_url[row.url].append(row)
    for rows in by_url.values():
        kept = max(rows, key=lambda r: (r.version, r.status == "active", -r.id))
        for row in rows:
            conn.execute(
                sa.insert(_links).values(
                    source_id=row.source_id,
                    statement_id=kept.id,
                    status=row.status if row.status in _LISTING_STATUSES else "tracked",
                    discovered_as=row.discovered_as,
                    summary=row.summary,
                    listed_published=row.listed_published,
                )
            )
        for row in rows:
            if row.id != kept.id:
                _fold(conn, row.id, kept.id)
        page_status = kept.status
        if page_status in _LISTING_STATUSES:  # now the link's; the page was last seen fine
            page_status = "active" if kept.version else "pending"
        conn.execute(
            sa.update(_statements)
            .where(_statements.c.id == kept.id)
            .values(
                status=page_status,
                first_seen_at=min(r.first_seen_at for r in rows),
                last_checked_at=max(
                    (r.last_checked_at for r in rows if r.last_checked_at is not None),
                    default=None,
                ),
            )
        )


def _fold(conn: sa.Connection, duplicate: int, kept: int) -> None:
    """Fold a duplicate statement row into the kept one (see the module's docstring)."""
    kept_versions = conn.execute(
        sa.select(_snapshots.c.version, _snapshots.c.fetched_at, _snapshots.c.text_hash)
        .where(_snapshots.c.statement_id == kept)
        .order_by(_snapshots.c.version)
    ).all()
    duplicate_versions = conn.execute(
        sa.select(_snapshots).where(_snapshots.c.statement_id == duplicate)
    ).all()

    def kept_version(fetched_at: Any, text_hash: str | None) -> int:
        """The kept statement's version showing this text (else the one current then)."""
        same = [v.version for v in kept_versions if v.text_hash == text_hash]
        if same:
            return same[-1]
        before = [v.version for v in kept_versions if v.fetched_at <= fetched_at]
        return before[-1] if before else 1

    shown = {v.version: kept_version(v.fetched_at, v.text_hash) for v in duplicate_versions}
    for version in duplicate_versions:
        if version.archive_file is None:
            continue
        conn.execute(
            sa.insert(_captures).values(
                statement_id=kept,
                fetched_at=version.fetched_at,
                version=shown[version.version],
                final_url=version.final_url,
                archive_file=version.archive_file,
                archive_offset=version.archive_offset,
                archive_length=version.archive_length,
                archive_digest=version.archive_digest,
            )
        )
    conn.execute(sa.delete(_snapshots).where(_snapshots.c.statement_id == duplicate))
    for capture in conn.execute(
        sa.select(_captures.c.id, _captures.c.version).where(_captures.c.statement_id == duplicate)
    ).all():
        conn.execute(
            sa.update(_captures)
            .where(_captures.c.id == capture.id)
            .values(statement_id=kept, version=shown.get(capture.version, capture.version))
        )
    conn.execute(
        sa.update(_events).where(_events.c.statement_id == duplicate).values(statement_id=kept)
    )
    conn.execute(sa.delete(_statements).where(_statements.c.id == duplicate))


def downgrade() -> None:
    """Back to one row per source: each statement goes to the first source linked to it.

    Lossy where statements were shared: the other sources' links are dropped (their next
    check finds the statement new to them and records a baseline).
    """
    op.drop_index("ix_source_statements_statement", "source_statements")
    op.drop_index("ix_statements_url", "statements")
    with op.batch_alter_table("statements") as statements:
        statements.add_column(sa.Column("source_id", sa.Integer))
        statements.add_column(sa.Column("discovered_as", sa.String(16)))
        statements.add_column(sa.Column("summary", sa.Text))
        statements.add_column(sa.Column("listed_published", sa.Date))
    conn = op.get_bind()
    first = (
        sa.select(sa.func.min(_links.c.source_id))
        .where(_links.c.statement_id == _statements.c.id)
        .scalar_subquery()
    )
    conn.execute(sa.update(_statements).values(source_id=first, discovered_as="baseline"))
    conn.execute(sa.delete(_statements).where(_statements.c.source_id.is_(None)))
    op.drop_table("source_statements")
    with op.batch_alter_table("statements") as statements:
        statements.alter_column("source_id", nullable=False)
        statements.alter_column("discovered_as", nullable=False)
        statements.create_foreign_key(
            "fk_statements_source", "sources", ["source_id"], ["id"], ondelete="CASCADE"
        )
        statements.create_unique_constraint("uq_statements_source_url", ["source_id", "url"])
    op.create_index("ix_statements_url", "statements", ["url"])
