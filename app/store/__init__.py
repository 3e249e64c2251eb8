"""The store: one interface (``Store``) over SQLite (default, WAL) and PostgreSQL."""

from app.store.checkpoints import LeaseLost
from app.store.records import IngestResult, RunRecord, StepRecord
from app.store.store import Store

__all__ = ["IngestResult", "LeaseLost", "RunRecord", "StepRecord", "Store"]
