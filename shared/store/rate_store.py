"""Rate limits shared by every instance: a fixed window per key, counted in the database.

Taking a slot is one conditional UPDATE (`used < limit` in the current window, or a window that ran out
starts again at 1), and the first use of a key is an INSERT that only one racer wins. Each engine
re-checks an UPDATE's condition on the row it locked, so of instances racing for the last slot exactly
one gets it: the count and the check cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import IntegrityError

from shared.store.claims import KEY_LENGTH
from shared.store.schema import rate_limits
from shared.store.tx import transact


class RateStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def take(self, key: str, *, limit: int, window: timedelta, now: datetime) -> bool:
        """True when one more use of `key` fits in its window (and is counted); False when `limit` is spent."""
        key = key[:KEY_LENGTH]
        if limit <= 0:
            return False
        fresh = now - window

        def count(connection: Connection) -> bool:
            used = connection.execute(
                update(rate_limits)
                .where(
                    rate_limits.c.rate_key == key,
                    rate_limits.c.window_start > fresh,
                    rate_limits.c.used < limit,
                )
                .values(used=rate_limits.c.used + 1)
            ).rowcount
            if used == 1:
                return True
            restarted = connection.execute(
                update(rate_limits)
                .where(rate_limits.c.rate_key == key, rate_limits.c.window_start <= fresh)
                .values(window_start=now, used=1)
            ).rowcount
            return restarted == 1

        for _ in range(2):
            if transact(self.engine, count):
                return True
            try:
                with self.engine.begin() as connection:
                    connection.execute(insert(rate_limits).values(rate_key=key, window_start=now, used=1))
                return True
            except IntegrityError:
                # The key exists: either its window is full (the next UPDATE says so) or a racer inserted
                # it just now (the next UPDATE counts us in).
                continue
        return False
