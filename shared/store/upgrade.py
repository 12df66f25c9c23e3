"""Upgrade steps for tables an earlier schema version created (new tables come from `create_all`).

Each step looks at what exists before it changes anything, so a step that ran (or half ran, on MySQL,
where every DDL statement commits on its own) is not repeated. Plain `ALTER TABLE … ADD COLUMN` and
`CREATE UNIQUE INDEX` are all the three engines need to share.

Version 4 (accounts): `account` on watches and subscriptions (existing rows: "home"); the watches'
unique keys and stream index gain it (new indexes made first, then the old ones dropped); the subscriptions'
filter key gains it as its first part; the poll state becomes the home account's, keyed by (scope, account,
region).
The watches' table constraint is replaced by `ALTER TABLE` on PostgreSQL and MariaDB; SQLite cannot drop a
table constraint, so there the table is rebuilt the way SQLite documents (the old one renamed aside, the
new one created, the rows copied with their ids, the old one dropped), in one transaction.

Version 5: the poller's cursors get a table of their own (`ecs_tasks_poll_cursors`, read and written by
`shared.store.cursor_store` alone); version 4's `ecs_tasks_poll_progress` rows move into it. A version-3
database's `ecs_tasks_poll_state` rows move straight there too (as the home account's), since every upgrade
runs to the current version.

Version 6: `started_by` on watches (nullable: who started a task is known only when an ActionTrail event
told; rows from before show no starter).

Version 7: the outbox's hold, a new table that `create_all` makes; no step here.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
    text,
    update,
)

from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.store.schema import (
    LIVE,
    UtcDateTime,
    poll_cursors,
    subscriptions,
    watches,
    watches_live_index,
    watches_stream_index,
)
from shared.updates.model import WATCH_ACTIVE, WATCH_STOPPED

# Columns version 3 added to tables version 2 made (all nullable); their SQL types are the schema's own,
# compiled for the engine at hand.
_V3_COLUMNS = (
    watches.c.live,
    watches.c.suspended,
    watches.c.checked_at,
    subscriptions.c.suspended,
)


# Version 3's names, replaced in version 4.
V3_WATCHES_KEY = "uq_ecs_tasks_watches_key"
V3_LIVE_INDEX = "uq_ecs_tasks_watches_live"
V3_STREAM_INDEX = "ix_ecs_tasks_watches_stream"
V3_POLL_STATE = "ecs_tasks_poll_state"
V4_POLL_PROGRESS = "ecs_tasks_poll_progress"
V4_WATCHES_KEY = "uq_ecs_tasks_watches_account_key"
# SQLite's rebuild keeps the version-3 table here while the rows are copied (inside its transaction).
V3_WATCHES_ASIDE = "ecs_tasks_watches_v3"
_V4_COLUMNS = (watches.c.account, subscriptions.c.account)
# A version-3 filter key has three parts (region|status|action); version 4 puts the account first.
_V3_FILTER_PARTS = 3


def upgrade(engine: Engine, from_version: int) -> None:
    if from_version < 3:
        _to_v3(engine)
    if from_version < 4:
        _to_v4(engine)
    if from_version < 5:
        _move_cursors(engine, V4_POLL_PROGRESS, keyed_by_account=True)
    if from_version < 6:
        _to_v6(engine)


def _to_v6(engine: Engine) -> None:
    existing = {c["name"] for c in inspect(engine).get_columns(watches.name)}
    column = watches.c.started_by
    if column.name not in existing:
        sql_type = column.type.compile(dialect=engine.dialect)
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {watches.name} ADD COLUMN {column.name} {sql_type}"))


def _to_v3(engine: Engine) -> None:
    existing = {(t, c["name"]) for t in (watches.name, subscriptions.name) for c in inspect(engine).get_columns(t)}
    for column in _V3_COLUMNS:
        if (column.table.name, column.name) not in existing:
            sql_type = column.type.compile(dialect=engine.dialect)
            with engine.begin() as connection:
                connection.execute(text(f"ALTER TABLE {column.table.name} ADD COLUMN {column.name} {sql_type}"))
    with engine.begin() as connection:
        _mark_live(connection)
    # Version 3's unique live index and stream index are made by the version-4 step, with the account in
    # them (every upgrade runs to the current version).


def _to_v4(engine: Engine) -> None:
    existing = {(t, c["name"]) for t in (watches.name, subscriptions.name) for c in inspect(engine).get_columns(t)}
    for column in _V4_COLUMNS:
        if (column.table.name, column.name) not in existing:
            sql_type = column.type.compile(dialect=engine.dialect)
            with engine.begin() as connection:
                connection.execute(
                    text(
                        f"ALTER TABLE {column.table.name} ADD COLUMN {column.name} {sql_type} "
                        f"NOT NULL DEFAULT '{HOME_ACCOUNT_NAME}'"
                    )
                )
    with engine.begin() as connection:
        _prefix_filter_keys(connection)
    indexes = {i["name"] for i in inspect(engine).get_indexes(watches.name)}
    _create_missing(engine, (watches_live_index, watches_stream_index), indexes)
    for old in (V3_LIVE_INDEX, V3_STREAM_INDEX):
        if old in indexes:
            _drop_index(engine, old)
    if engine.dialect.name == "sqlite":
        _rebuild_sqlite_watches(engine)
    else:
        _replace_watches_key(engine)
    _move_cursors(engine, V3_POLL_STATE, keyed_by_account=False)


def _prefix_filter_keys(connection: Connection) -> None:
    """Version-3 keys become the home account's (`home|region|status|action`); version-4 keys are left."""
    rows = connection.execute(select(subscriptions.c.id, subscriptions.c.account, subscriptions.c.filter_key)).all()
    for row in rows:
        if len(row.filter_key.split("|")) == _V3_FILTER_PARTS:
            connection.execute(
                update(subscriptions)
                .where(subscriptions.c.id == row.id)
                .values(filter_key=f"{row.account}|{row.filter_key}")
            )


def _drop_index(engine: Engine, name: str) -> None:
    on_table = f" ON {watches.name}" if engine.dialect.name in ("mysql", "mariadb") else ""
    with engine.begin() as connection:
        connection.execute(text(f"DROP INDEX {name}{on_table}"))


def _replace_watches_key(engine: Engine) -> None:
    """PostgreSQL and MariaDB: add version 4's unique key, then drop version 3's."""
    found = inspect(engine)
    names = {c["name"] for c in found.get_unique_constraints(watches.name)}
    names |= {i["name"] for i in found.get_indexes(watches.name) if i.get("unique")}
    if V4_WATCHES_KEY not in names:
        columns = "channel_id, account, region_id, task_id, origin"
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {watches.name} ADD CONSTRAINT {V4_WATCHES_KEY} UNIQUE ({columns})"))
    if V3_WATCHES_KEY in names:
        drop = "DROP INDEX" if engine.dialect.name in ("mysql", "mariadb") else "DROP CONSTRAINT"
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {watches.name} {drop} {V3_WATCHES_KEY}"))


def _rebuild_sqlite_watches(engine: Engine) -> None:
    """SQLite: the watches table with version 4's constraint, its rows (and their ids) kept. The store's
    SQLite engine begins every transaction explicitly (shared.store.engine), which makes SQLite's DDL
    transactional: the rebuild happens entirely, or not at all."""
    with engine.begin() as connection:
        keys = [u["column_names"] for u in inspect(connection).get_unique_constraints(watches.name)]
        if all(watches.c.account.name in columns for columns in keys):
            return
        connection.execute(text(f"ALTER TABLE {watches.name} RENAME TO {V3_WATCHES_ASIDE}"))
        # Its indexes went with it under their names: dropped, so the new table can have its own.
        for index in inspect(connection).get_indexes(V3_WATCHES_ASIDE):
            connection.execute(text(f"DROP INDEX {index['name']}"))
        kept = {c["name"] for c in inspect(connection).get_columns(V3_WATCHES_ASIDE)}
        watches.create(connection)
        # The columns the old table has: later versions' columns (version 6's started_by) start empty.
        columns = ", ".join(column.name for column in watches.columns if column.name in kept)
        connection.execute(text(f"INSERT INTO {watches.name} ({columns}) SELECT {columns} FROM {V3_WATCHES_ASIDE}"))
        connection.execute(text(f"DROP TABLE {V3_WATCHES_ASIDE}"))


def _move_cursors(engine: Engine, old_name: str, *, keyed_by_account: bool) -> None:
    """An earlier version's cursor rows, copied into `ecs_tasks_poll_cursors` (a version-3 row, which has
    no account, as the home account's), then the earlier table dropped. A row already there (a step that
    half ran, on MySQL) is kept, not copied again."""
    if old_name not in inspect(engine).get_table_names():
        return
    account = [Column("account", String)] if keyed_by_account else []
    old = Table(
        old_name,
        MetaData(),
        Column("scope", String),
        *account,
        Column("region_id", String),
        Column("resume_after", String),
        Column("last_success_at", UtcDateTime()),
        Column("updated_at", UtcDateTime()),
    )
    c = poll_cursors.c
    with engine.begin() as connection:
        present = {
            (r.scope, r.account, r.region_id) for r in connection.execute(select(c.scope, c.account, c.region_id))
        }
        moved = [
            {
                "scope": r.scope,
                "account": r.account if keyed_by_account else HOME_ACCOUNT_NAME,
                "region_id": r.region_id,
                "resume_after": r.resume_after,
                "last_success_at": r.last_success_at,
                "updated_at": r.updated_at,
            }
            for r in connection.execute(select(old)).all()
        ]
        rows = [r for r in moved if (r["scope"], r["account"], r["region_id"]) not in present]
        if rows:
            connection.execute(insert(poll_cursors), rows)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {old_name}"))


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
