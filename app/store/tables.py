"""Table definitions (SQLAlchemy Core). The schema itself is created by migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect


def naive_utc(value: datetime) -> datetime:
    """An aware datetime as the naive UTC the store keeps."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use aware UTC datetimes")
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in Python, naive UTC in the database (same on SQLite and PostgreSQL)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else naive_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("type", sa.String(50), nullable=False),
    sa.Column("dedupe_key", sa.String(400), nullable=False, unique=True),
    sa.Column("actor", sa.String(200)),
    sa.Column("received_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("data", _json(), nullable=False),
    # A webhook provider's event type ("release", "orders/create"): trigger.event (issue 20).
    sa.Column("kind", sa.String(300)),
)

# Each repeated delivery of an already-stored event: one double entry avoided.
event_duplicates = sa.Table(
    "event_duplicates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("received_at", UTCDateTime(), nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("flow", sa.String(200), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("not_before", UTCDateTime(), nullable=False),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime()),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("error", sa.Text),
    sa.Column("replays", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_runs_claim", "status", "not_before"),
)

run_steps = sa.Table(
    "run_steps",
    metadata,
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("step_id", sa.String(100), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("input", _json()),
    sa.Column("output", _json()),
    sa.Column("error", sa.Text),
    sa.Column("deduplicated", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=False),
)

# Small keyed state: Notion page snapshots, polling cursors, schedule arming times.
kv = sa.Table(
    "kv",
    metadata,
    sa.Column("namespace", sa.String(50), primary_key=True),
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("value", _json(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

# Similar feedback (issue 21): one row per indexed item and its vector (float32 bytes).
# ``seq`` grows with every write (a re-index deletes and inserts), so a process's in-memory
# copy of the vectors catches up by reading the rows past the last ``seq`` it saw.
similar_items = sa.Table(
    "similar_items",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("collection", sa.String(100), nullable=False),
    sa.Column("item_id", sa.String(200), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("url", sa.String(1000), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("reporter", sa.String(200), nullable=False, server_default=""),
    sa.Column("customer", sa.String(200), nullable=False, server_default=""),
    # the Slack user to tell when the item ships (who filed it), may be empty
    sa.Column("notify", sa.String(200), nullable=False, server_default=""),
    sa.Column("linked_to", sa.String(200)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("collection", "item_id", name="uq_similar_items_item"),
    sa.Index("ix_similar_items_linked", "collection", "linked_to"),
    sa.Index("ix_similar_items_created", "created_at"),
    sa.Index("ix_similar_items_seq", "collection", "seq"),
    # SQLite would reuse the seq of a deleted last row; AUTOINCREMENT never does.
    sqlite_autoincrement=True,
)
