"""Events keep a webhook provider's event type (``trigger.event``, issue 20).

Revision ID: 0006_i20_sources
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_i20_sources"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("kind", sa.String(300), nullable=True))


def downgrade() -> None:
    op.drop_column("events", "kind")
