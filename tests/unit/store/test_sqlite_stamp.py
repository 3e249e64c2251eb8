"""bulk.sqlite_stamp writes datetimes exactly as SQLAlchemy's SQLite type would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from app.store import tables as t
from app.store.bulk import sqlite_stamp

_SQLALCHEMY = t.events.c.received_at.type.dialect_impl(
    sa.create_engine("sqlite://").dialect).bind_processor(sa.create_engine("sqlite://").dialect)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                               timezone(timedelta(hours=-8))])))
def test_same_text_as_sqlalchemy(value: datetime) -> None:
    assert _SQLALCHEMY is not None
    assert sqlite_stamp(value) == _SQLALCHEMY(value)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        sqlite_stamp(datetime(2026, 1, 1))
