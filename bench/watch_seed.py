"""Many active watches written straight into the store, as `/ecs-tasks watch` would have left them.

One INSERT per thousand rows (adding 100,000 watches one by one through `WatchStore.add` would take minutes),
with every column `WatchStore.add` sets for an active watch.
Each watch last saw its task Processing, as the emulator keeps it (see `scaling_seed`), so ticks find no change.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import insert

from bench import scaling_seed
from bench.env import CHANNEL_ID, TEAM_ID, USER_ID
from shared.ecs.models import Task
from shared.store import open_store
from shared.store.schema import LIVE, watches
from shared.updates.model import ORIGIN_WATCH, WATCH_ACTIVE, task_to_json

ROWS_PER_INSERT = 1000
TTL = timedelta(days=7)
CARD_TS = "1700000000.000100"


def seed_watches(database_url: str, total: int) -> int:
    """Create the store at `database_url` with `total` active watches; returns how many were written."""
    store = open_store(database_url)
    now = datetime.now(timezone.utc)
    rows = [
        _row(region_id, task_id, now) for region_id, ids in scaling_seed.watched_ids(total).items() for task_id in ids
    ]
    with store.engine.begin() as connection:
        for start in range(0, len(rows), ROWS_PER_INSERT):
            connection.execute(insert(watches), rows[start : start + ROWS_PER_INSERT])
    store.engine.dispose()
    return len(rows)


def _row(region_id: str, task_id: str, now: datetime) -> dict[str, object]:
    task = Task(task_id=task_id, task_status=scaling_seed.WATCHED_STATUS, region_id=region_id)
    return {
        "team_id": TEAM_ID,
        "channel_id": CHANNEL_ID,
        "user_id": USER_ID,
        "region_id": region_id,
        "task_id": task_id,
        "origin": ORIGIN_WATCH,
        "subscription_id": None,
        "wanted_status": None,
        "announced": True,
        "last_status": scaling_seed.WATCHED_STATUS,
        "version": 1,
        "task_json": task_to_json(task),
        "card_ts": CARD_TS,
        "thread_ts": CARD_TS,
        "state": WATCH_ACTIVE,
        "live": LIVE,  # as WatchStore.add leaves an active watch (schema version 3)
        "problem": None,
        "suspended": None,
        "checked_at": None,
        "created_at": now,
        "expires_at": now + TTL,
        "updated_at": now,
    }
