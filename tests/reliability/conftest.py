"""Store backends: SQLite always, PostgreSQL whenever reachable (loud skip otherwise)."""

from store_backends import pg_url, pytest_terminal_summary, store_url

__all__ = ["pg_url", "pytest_terminal_summary", "store_url"]
