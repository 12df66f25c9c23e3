"""Upgrade steps for tables an earlier schema version created (new tables come from `create_all`).

Each step looks at what exists before it changes anything, so a step that ran (or half ran, on MySQL,
where every DDL statement commits on its own) is not repeated. Plain `ALTER TABLE … ADD COLUMN` and
`CREATE UNIQUE INDEX` are all the three engines need to share.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, Index, inspect, select, text, update

from shared.store.schema import LIVE, subscriptions, watches, watches_live_index, watches_stream_index
from shared.updates.model import WATCH_ACTIVE, WATCH_STOPPED

# Columns version 3 added to tables version 2 made (all nullable); their SQL types are the schema's own,
# compiled for the engine at hand.
_V3_COLUMNS = (
    watches.c.live,
    watches.c.suspended,
    watches.c.checked_at,
    subscriptions.c.suspended,
)


def upgrade(engine: Engine, from_version: int) -> None:
    if from_version < 3:
        _to_v3(engine)


def _to_v3(engine: Engine) -> None:
    existing = {(t, c["name"]) for t in (watches.name, subscriptions.name) for c in inspect(engine).get_columns(t)}
    for column in _V3_COLUMNS:
        if (column.table.name, column.name) not in existing:
            sql_type = column.type.compile(dialect=engine.dialect)
            with engine.begin() as connection:
                connection.execute(text(f"ALTER TABLE {column.table.name} ADD COLUMN {column.name} {sql_type}"))
    with engine.begin() as connection:
        _mark_live(connection)
    indexes = {i["name"] for i in inspect(engine).get_indexes(watches.name)}
    _create_missing(engine, (watches_live_index, watches_stream_index), indexes)


def _mark_live(connection: Connection) -> None:
    """One active follow per (channel, region, task): the announced one with the lowest id is kept (that is
    the card people have seen); the others (overlapping subscriptions' copies) are stopped, as duplicates."""
    rows = connection.execute(
        select(watches.c.id, watches.c.channel_id, watches.c.region_id, watches.c.task_id, watches.c.announced)
        .where(watches.c.state == WATCH_ACTIVE, watches.c.live.is_(None))
        .order_by(watches.c.id)
    ).all()
    keep: dict[tuple[str, str, str], tuple[bool, int]] = {}
    for row in rows:
        key = (row.channel_id, row.region_id, row.task_id)
        candidate = (not bool(row.announced), row.id)  # announced first, then the oldest
        if key not in keep or candidate < keep[key]:
            keep[key] = candidate
    kept = {watch_id for _, watch_id in keep.values()}
    duplicates = [row.id for row in rows if row.id not in kept]
    for ids in _chunks(sorted(kept)):
        connection.execute(update(watches).where(watches.c.id.in_(ids)).values(live=LIVE))
    for ids in _chunks(duplicates):
        connection.execute(
            update(watches)
            .where(watches.c.id.in_(ids))
            .values(state=WATCH_STOPPED, version=watches.c.version + 1, problem="duplicate")
        )


def _create_missing(engine: Engine, indexes: Iterable[Index], existing: set[str | None]) -> None:
    for index in indexes:
        if index.name not in existing:
            with engine.begin() as connection:
                index.create(connection)


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    return (ids[i : i + size] for i in range(0, len(ids), size))
