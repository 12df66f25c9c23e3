"""The store, on SQLAlchemy Core: one implementation for SQLite, PostgreSQL and MySQL/MariaDB.

Every state change that must happen once is a single conditional statement (insert-or-fail, or
update-where-expected), so concurrent pollers and duplicate deliveries settle in the database itself.
`SqlStore` is the facade: idempotency claims here; watches, the outbox, subscriptions and the poller's
cursors in their own classes (`watch_store`, `outbox_store`, `subscription_store`, `cursor_store`) sharing
its engine.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from shared.store.binding_store import BindingStore
from shared.store.claims import (
    API_CALL_EVENT_LEASE,
    CHANNEL_NOTICE_LEASE,
    KEY_LENGTH,
    ClaimKind,
    claim_key,
)
from shared.store.cursor_store import CursorStore
from shared.store.hold_store import HoldStore
from shared.store.outbox_store import OutboxStore
from shared.store.rate_store import RateStore
from shared.store.schema import CLAIM_DONE, CLAIM_RUNNING, claims, metadata, schema_version
from shared.store.subscription_store import SubscriptionStore
from shared.store.upgrade import upgrade
from shared.store.watch_store import WatchStore

# 1: idempotency claims. 2: watches, subscriptions, the outbox and poll state (channel updates).
# 3: one active follow per (channel, region, task) (`watches.live`), suspension marks, rate limits.
# 4: accounts: `account` on watches and subscriptions, in their keys, and poll state per account.
# 5: the poller's cursors in a table of their own (`shared.store.cursor_store`).
# 6: who started a task (`watches.started_by`), when an ActionTrail event said so.
# 7: the outbox's hold while Slack refuses the token (`shared.store.hold_store`): a new table, no step.
# 8: channel bindings made in Slack (`shared.store.binding_store`): a new table, nothing altered.
# New tables come from `create_all(checkfirst=True)`; a version that alters a table has its step in
# `shared.store.upgrade`, run by the process that moves the version row on (a compare-and-set).
SCHEMA_VERSION = 8


class SqlStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.watches = WatchStore(engine)
        self.outbox = OutboxStore(engine)
        self.subscriptions = SubscriptionStore(engine)
        self.cursors = CursorStore(engine)
        self.rates = RateStore(engine)
        self.hold = HoldStore(engine)
        self.bindings = BindingStore(engine)

    # --- schema -----------------------------------------------------------------------------

    def migrate(self) -> None:
        """Create missing tables and record the version; safe to run from several processes at once."""
        try:
            metadata.create_all(self.engine, checkfirst=True)
        except (OperationalError, ProgrammingError, IntegrityError):
            # Another process created the same table between our check and our CREATE: that is fine.
            missing = set(metadata.tables) - set(inspect(self.engine).get_table_names())
            if missing:
                raise
        upgrading_from: int | None = None
        try:
            with self.engine.begin() as connection:
                current = connection.execute(select(schema_version.c.version)).scalar()
                if current is None:
                    connection.execute(insert(schema_version).values(id=1, version=SCHEMA_VERSION))
                elif current < SCHEMA_VERSION:
                    # Conditional on the version read: of two upgrading processes, one moves it on.
                    moved = connection.execute(
                        update(schema_version)
                        .where(schema_version.c.id == 1, schema_version.c.version == current)
                        .values(version=SCHEMA_VERSION)
                    ).rowcount
                    upgrading_from = current if moved == 1 else None
        except IntegrityError:
            pass  # a concurrent migrate() recorded the version first
        if upgrading_from is not None:
            # After the version moved (MySQL commits DDL implicitly, so it could not share that
            # transaction); every step checks what exists first, so running it again is harmless.
            upgrade(self.engine, upgrading_from)

    def schema_version(self) -> int | None:
        with self.engine.connect() as connection:
            version: int | None = connection.execute(select(schema_version.c.version)).scalar()
            return version

    # --- idempotency claims -----------------------------------------------------------------

    def claim(self, key: str, *, now: datetime, lease: timedelta) -> bool:
        """True when the caller now owns `key`: new, or a previous owner's lease ran out before it finished."""
        key = key[:KEY_LENGTH]
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(claims).values(claim_key=key, state=CLAIM_RUNNING, lease_until=now + lease, created_at=now)
                )
            return True
        except IntegrityError:
            pass
        with self.engine.begin() as connection:
            taken_over = connection.execute(
                update(claims)
                .where(claims.c.claim_key == key, claims.c.state == CLAIM_RUNNING, claims.c.lease_until < now)
                .values(lease_until=now + lease)
            )
            return taken_over.rowcount == 1

    def complete(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(claims).where(claims.c.claim_key == key[:KEY_LENGTH]).values(state=CLAIM_DONE))

    def purge_claims(self, kind: ClaimKind, *, older_than: datetime) -> int:
        """Forget claims of one kind older than any redelivery of theirs could be."""
        with self.engine.begin() as connection:
            return connection.execute(
                delete(claims).where(claims.c.claim_key.like(f"{kind.value}:%"), claims.c.created_at < older_than)
            ).rowcount

    # --- the channel-updates feature's claims (shared.updates.storage) ----------------------

    def claim_channel_notice(self, problem: str, channel_id: str, user_id: str, *, now: datetime) -> bool:
        key = claim_key(ClaimKind.CHANNEL_NOTICE, problem, channel_id, user_id)
        return self.claim(key, now=now, lease=CHANNEL_NOTICE_LEASE)

    def complete_channel_notice(self, problem: str, channel_id: str, user_id: str) -> None:
        self.complete(claim_key(ClaimKind.CHANNEL_NOTICE, problem, channel_id, user_id))

    def claim_event(self, key: str, *, now: datetime) -> bool:
        """True for the one handler of an EventBridge event (its source and id)."""
        return self.claim(claim_key(ClaimKind.API_CALL_EVENT, key), now=now, lease=API_CALL_EVENT_LEASE)

    def complete_event(self, key: str) -> None:
        self.complete(claim_key(ClaimKind.API_CALL_EVENT, key))

    def release_event(self, key: str) -> None:
        """Give an event up (ECS did not know its task yet), so a redelivery looks at it once more."""
        self.release(claim_key(ClaimKind.API_CALL_EVENT, key))

    def purge_event_claims(self, *, older_than: datetime) -> int:
        return self.purge_claims(ClaimKind.API_CALL_EVENT, older_than=older_than)

    def purge_deferred_work_claims(self, *, older_than: datetime) -> int:
        return self.purge_claims(ClaimKind.DEFERRED_WORK, older_than=older_than)

    def release(self, key: str) -> None:
        """Give up a running claim (the work failed), so a redelivery may do it."""
        with self.engine.begin() as connection:
            connection.execute(
                delete(claims).where(claims.c.claim_key == key[:KEY_LENGTH], claims.c.state == CLAIM_RUNNING)
            )

    def claim_state(self, key: str) -> str | None:
        with self.engine.connect() as connection:
            state: str | None = connection.execute(
                select(claims.c.state).where(claims.c.claim_key == key[:KEY_LENGTH])
            ).scalar()
            return state
