"""Similar feedback: the similarity index (one row and vector per indexed item).

Revision ID: 0007_i21_similar
Revises: 0006_i20_sources
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.store.tables import UTCDateTime

revision = "0007_i21_similar"
down_revision = "0006_i20_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "similar_items",
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
        sa.Column("notify", sa.String(200), nullable=False, server_default=""),
        sa.Column("linked_to", sa.String(200)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("collection", "item_id", name="uq_similar_items_item"),
        # SQLite would reuse the seq of a deleted last row; AUTOINCREMENT never does.
        sqlite_autoincrement=True,
    )
    op.create_index("ix_similar_items_linked", "similar_items", ["collection", "linked_to"])
    op.create_index("ix_similar_items_created", "similar_items", ["created_at"])
    # catching up reads the rows past a seq: without this, SQLite walks the whole table
    op.create_index("ix_similar_items_seq", "similar_items", ["collection", "seq"])


def downgrade() -> None:
    op.drop_table("similar_items")
