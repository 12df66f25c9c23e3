"""Tables, as SQLAlchemy Core metadata. Types and lengths chosen to work the same on SQLite, PostgreSQL and
MySQL (MySQL needs bounded VARCHARs for keys; 191 characters keeps utf8mb4 keys within index limits)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, DateTime, Dialect, Integer, MetaData, String, Table
from sqlalchemy.types import TypeDecorator

KEY_LENGTH = 191


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in every database (MySQL and SQLite have no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store datetimes must be timezone-aware")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(moment, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(moment).__name__}")
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


metadata = MetaData()

schema_version = Table(
    "ecs_tasks_schema",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
)

# Idempotency of at-least-once deliveries (Function Compute async invocations): one row per unit of work.
claims = Table(
    "ecs_tasks_claims",
    metadata,
    Column("claim_key", String(KEY_LENGTH), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("lease_until", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

CLAIM_RUNNING = "running"
CLAIM_DONE = "done"
