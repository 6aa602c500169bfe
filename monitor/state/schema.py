"""The tables of the state database, as the code reads and writes them today.

Alembic revisions in `migrations/versions/` bring a database to this schema; each revision
keeps its own copy of what it creates, so this file can change without rewriting history.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return value.replace(tzinfo=dt.UTC) if value is not None else None


metadata = sa.MetaData()

sources_table = sa.Table(
    "sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_check_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("last_change_at", UTCDateTime),
    sa.Column("last_status", sa.String(16)),  # "ok" or "error"
    sa.Column("last_error", sa.Text),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, default=0),
    # the source's own page (an index or feed) for conditional GETs
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("content_hash", sa.String(64)),
)

# One row per statement, that is per canonical URL, whichever sources track it: an edit is
# one new version, one event and one alert per notifier, never one per source.
statements_table = sa.Table(
    "statements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),  # canonical; unique (ix_statements_url)
    # what the page says: pending (listed, not fetched yet) | active | removed (404/410)
    sa.Column("status", sa.String(16), nullable=False, default="active"),
    sa.Column("title", sa.Text),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("last_checked_at", UTCDateTime),
    sa.Column("last_changed_at", UTCDateTime),
    sa.Column("version", sa.Integer, nullable=False, default=0),  # latest snapshot version
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("content_hash", sa.String(64)),  # sha256 of the last fetched raw bytes
    # where the statement sits in its page, and the digest of that element's text when the
    # last snapshot was taken (see monitor/container.py)
    sa.Column("container", sa.Text),
    sa.Column("container_digest", sa.String(64)),
)

# Which sources track which statements, with what each source's own listing says of it.
source_statements_table = sa.Table(
    "source_statements",
    metadata,
    sa.Column("source_id", sa.ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("statement_id", sa.ForeignKey("statements.id", ondelete="CASCADE"), primary_key=True),
    # tracked | moved (this listing now links the statement's text under another URL) |
    # alias (this listing's link leads to a statement it tracks under another URL)
    sa.Column("status", sa.String(16), nullable=False, default="tracked"),
    # how this source announces the statement when it is first fetched: baseline | new
    sa.Column("discovered_as", sa.String(16), nullable=False, default="baseline"),
    sa.Column("summary", sa.Text),  # a feed item's own text, used when its page yields none
    sa.Column("listed_published", sa.Date),  # the date the listing gave
)

snapshots_table = sa.Table(
    "snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("statement_id", sa.ForeignKey("statements.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),  # as extracted, for display
    sa.Column("normalized", sa.Text, nullable=False),  # what comparisons use
    sa.Column("text_hash", sa.String(64), nullable=False),  # sha256 of `normalized`
    sa.Column("published", sa.Date),
    sa.Column("final_url", sa.Text),
    sa.Column("canonical_url", sa.Text),  # the URL the page names as its own
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("content_hash", sa.String(64)),
    sa.Column("raw", sa.LargeBinary),  # zlib-compressed page, so it can be re-extracted
    # where the page as fetched is archived (monitor.archive): the WARC file, the span of
    # the version's records in it, and the response's payload digest (schema version 2)
    sa.Column("archive_file", sa.String(64)),
    sa.Column("archive_offset", sa.BigInteger),
    sa.Column("archive_length", sa.BigInteger),
    sa.Column("archive_digest", sa.String(80)),
    sa.UniqueConstraint("statement_id", "version"),
)

# With `archive = "all"`: fetches whose bytes changed but gave no new version
captures_table = sa.Table(
    "captures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("statement_id", sa.ForeignKey("statements.id", ondelete="CASCADE"), nullable=False),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),  # the version the page still showed
    sa.Column("final_url", sa.Text),
    sa.Column("archive_file", sa.String(64), nullable=False),
    sa.Column("archive_offset", sa.BigInteger, nullable=False),
    sa.Column("archive_length", sa.BigInteger, nullable=False),
    sa.Column("archive_digest", sa.String(80), nullable=False),
)

events_table = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # the source whose check recorded it (of a shared statement: the first to see it)
    sa.Column("source_id", sa.ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    sa.Column("statement_id", sa.ForeignKey("statements.id", ondelete="SET NULL")),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("version", sa.Integer),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # the JSON event
)

alerts_table = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("event_id", sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("notifier", sa.String(100), nullable=False),
    sa.Column("delivery_id", sa.String(64), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False, default="pending"),  # pending|sent|dead
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", UTCDateTime),
    # A node delivering the alert holds it until `claimed_until` (a lease): overlapping
    # runs and other nodes skip it meanwhile, and take it over if the node died.
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("claimed_until", UTCDateTime),
)

# The daemons (`monitor run`) sharing this database, each with its last sign of life.
nodes_table = sa.Table(
    "nodes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("listen", sa.String(255)),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("config_hash", sa.String(64), nullable=False),  # sha256 of the sources file
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
    sa.Column("stopped_at", UTCDateTime),  # set by a clean stop; a killed node just goes quiet
)

# Who checks each source (by name): a node holds the lease while its check runs, and no
# check of the source may start before `not_before` (one check per interval, cluster-wide).
check_leases_table = sa.Table(
    "check_leases",
    metadata,
    sa.Column("source", sa.String(100), primary_key=True),
    sa.Column("node", sa.String(64)),  # the node that claimed the last check
    sa.Column("claimed_at", UTCDateTime),
    sa.Column("lease_until", UTCDateTime),  # NULL once the check is recorded
    sa.Column("not_before", UTCDateTime),
)

# Politeness across nodes: the earliest time the next request to each host may start.
host_slots_table = sa.Table(
    "host_slots",
    metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("next_at", UTCDateTime, nullable=False),
)

sa.Index("ix_snapshots_statement", snapshots_table.c.statement_id, snapshots_table.c.version)
sa.Index("ix_events_at", events_table.c.at)
sa.Index("ix_alerts_due", alerts_table.c.status, alerts_table.c.next_attempt_at)
sa.Index("ix_statements_url", statements_table.c.url, unique=True)
sa.Index("ix_source_statements_statement", source_statements_table.c.statement_id)
