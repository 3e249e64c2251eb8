"""Initial schema: events, duplicates, runs, run steps, key-value state.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.store.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("dedupe_key", sa.String(400), nullable=False, unique=True),
        sa.Column("actor", sa.String(200)),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("data", _json(), nullable=False),
    )
    op.create_index("ix_events_received_at", "events", ["received_at"])
    op.create_table(
        "event_duplicates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_event_duplicates_event_id", "event_duplicates", ["event_id"])
    op.create_table(
        "runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("flow", sa.String(200), nullable=False),
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
    )
    op.create_index("ix_runs_event_id", "runs", ["event_id"])
    op.create_index("ix_runs_flow", "runs", ["flow"])
    op.create_index("ix_runs_claim", "runs", ["status", "not_before"])
    op.create_table(
        "run_steps",
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
    op.create_table(
        "kv",
        sa.Column("namespace", sa.String(50), primary_key=True),
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("value", _json(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("kv", "run_steps", "runs", "event_duplicates", "events"):
        op.drop_table(table)
