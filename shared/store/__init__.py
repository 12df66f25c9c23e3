"""Durable state in a SQL database (SQLAlchemy Core): SQLite locally, PostgreSQL or MySQL in production.

The package's names are resolved on first use, so importing `shared.store.claims` (the claim kinds, plain
Python) does not import SQLAlchemy: the path to a plain answer never needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.store.engine import default_database_url, open_store
    from shared.store.sql_store import SqlStore

__all__ = ["SqlStore", "default_database_url", "open_store"]


def __getattr__(name: str) -> Any:
    if name == "SqlStore":
        from shared.store.sql_store import SqlStore

        return SqlStore
    if name in ("open_store", "default_database_url"):
        from shared.store import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
