"""Durable state in a SQL database (SQLAlchemy Core): SQLite locally, PostgreSQL or MySQL in production."""

from shared.store.engine import default_database_url, open_store
from shared.store.sql_store import SqlStore

__all__ = ["SqlStore", "default_database_url", "open_store"]
