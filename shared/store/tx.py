"""Running one transaction, retried when the database itself asks for it (deadlock, serialization failure,
a busy SQLite file). Anything else propagates unchanged."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

T = TypeVar("T")

ATTEMPTS = 4
BACKOFF_S = 0.05
# PostgreSQL SQLSTATEs: serialization_failure, deadlock_detected.
RETRY_SQLSTATES = frozenset({"40001", "40P01"})
# MySQL / MariaDB error numbers: lock wait timeout, deadlock.
RETRY_MYSQL_ERRORS = frozenset({1205, 1213})
SQLITE_BUSY_TEXT = ("database is locked", "database table is locked")


def is_transient(error: OperationalError) -> bool:
    original = error.orig
    if getattr(original, "sqlstate", None) in RETRY_SQLSTATES:
        return True
    args = getattr(original, "args", ())
    if args and isinstance(args[0], int) and args[0] in RETRY_MYSQL_ERRORS:
        return True
    return any(text in str(original) for text in SQLITE_BUSY_TEXT)


def transact(engine: Engine, work: Callable[[Connection], T], *, sleep: Callable[[float], None] = time.sleep) -> T:
    """`work` inside one transaction; a transient conflict rolls it back and runs it again."""
    attempt = 0
    while True:
        attempt += 1
        try:
            with engine.begin() as connection:
                return work(connection)
        except OperationalError as error:
            if attempt >= ATTEMPTS or not is_transient(error):
                raise
            sleep(BACKOFF_S * attempt)
