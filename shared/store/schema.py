"""Tables, as SQLAlchemy Core metadata. Types and lengths chosen to work the same on SQLite, PostgreSQL and
MySQL (MySQL needs bounded VARCHARs for keys; 191 characters keeps utf8mb4 keys within index limits)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.store.claims import KEY_LENGTH
from shared.updates.model import (  # re-exported: the store's own vocabulary is the feature's
    ENTRY_ABANDONED,
    ENTRY_PENDING,
    ENTRY_POSTED,
    ENTRY_UNDELIVERABLE,
    SCOPE_SUBSCRIPTIONS,
    SCOPE_WATCHES,
)


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

# --- channel updates (schema version 2) ------------------------------------------------------------

# Slack ids (T…, C…, U…) and message timestamps are short; region ids too.
ID_LENGTH = 64
TS_LENGTH = 32
STATUS_LENGTH = 32
STATE_LENGTH = 16
# Account names are 1-20 characters (shared.config.ACCOUNT_NAME_RE); room to spare, still short for keys.
ACCOUNT_LENGTH = 32
# A RAM user or session name (64) or a Slack mention, and an account name.
STARTED_BY_LENGTH = 128
# A binding's names, comma-separated: MAX_ACCOUNTS_PER_BINDING (8) names of up to 20 characters, and commas.
BINDING_LENGTH = 191

# A followed task in a channel: a direct watch, or a subscription's follow-up of a task it found.
# `version` counts accepted observations: the compare-and-set every poller must win to record a change.
watches = Table(
    "ecs_tasks_watches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(ID_LENGTH), nullable=True),
    Column("channel_id", String(ID_LENGTH), nullable=False),
    Column("user_id", String(ID_LENGTH), nullable=False),  # who set it up: told when the channel fails
    Column("region_id", String(ID_LENGTH), nullable=False),
    Column("task_id", String(KEY_LENGTH), nullable=False),
    Column("origin", String(ID_LENGTH), nullable=False),  # ORIGIN_WATCH or "sub:<subscription id>"
    Column("subscription_id", Integer, nullable=True),
    Column("wanted_status", String(STATUS_LENGTH), nullable=True),  # a follow-up is announced on reaching it
    Column("announced", Boolean, nullable=False),  # its card was (or is being) posted
    Column("last_status", String(STATUS_LENGTH), nullable=True),
    Column("version", Integer, nullable=False),
    Column("task_json", Text, nullable=False),  # the task as last seen, for re-rendering its card
    Column("card_ts", String(TS_LENGTH), nullable=True),  # the message updated in place
    Column("thread_ts", String(TS_LENGTH), nullable=True),  # where replies go
    Column("state", String(STATE_LENGTH), nullable=False),  # shared.updates.model.WATCH_*
    Column("problem", String(ID_LENGTH), nullable=True),  # the last delivery problem, e.g. not_in_channel
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # Version 3. LIVE while active, NULL otherwise: the unique key below then allows one active follow of a
    # task per channel (a watch or one subscription's follow-up), so a task gets one card in a channel.
    # NULLs never collide in a unique index on any of the three engines, so ended rows stay as history.
    Column("live", Integer, nullable=True),
    # Version 3: why today's policy no longer allows this row (a reason code), or NULL; see the poller.
    Column("suspended", String(ID_LENGTH), nullable=True),
    # Version 3: when DescribeTaskAttribute last answered for a task DescribeTasks did not list; such tasks
    # are looked up oldest first, so a tick's look-up budget reaches every one in turn.
    Column("checked_at", UtcDateTime(), nullable=True),
    # Version 4: the account the task lives in (its configured name); rows from before are the home account's.
    Column("account", String(ACCOUNT_LENGTH), nullable=False, server_default=HOME_ACCOUNT_NAME),
    # Version 6: who started the task, as shown in its card (from an ActionTrail event), or NULL.
    Column("started_by", String(STARTED_BY_LENGTH), nullable=True),
    # Version 4: the account joined the key (version 3's was `uq_ecs_tasks_watches_key`; see upgrade.py).
    UniqueConstraint(
        "channel_id", "account", "region_id", "task_id", "origin", name="uq_ecs_tasks_watches_account_key"
    ),
    Index("ix_ecs_tasks_watches_state_region", "state", "region_id"),
    Index("ix_ecs_tasks_watches_card", "channel_id", "card_ts"),
)

LIVE = 1
# Version 4 (version 3's `uq_ecs_tasks_watches_live` without the account; an upgrade replaces it): one active
# follow of a task per channel and account.
watches_live_index = Index(
    "uq_ecs_tasks_watches_account_live",
    watches.c.channel_id,
    watches.c.account,
    watches.c.region_id,
    watches.c.task_id,
    watches.c.live,
    unique=True,
)
# The poller streams active watches per (account, region) in task-id order (keyset pagination). Version 4
# (replacing version 3's `ix_ecs_tasks_watches_stream`).
watches_stream_index = Index(
    "ix_ecs_tasks_watches_account_stream",
    watches.c.state,
    watches.c.account,
    watches.c.region_id,
    watches.c.task_id,
)

subscriptions = Table(
    "ecs_tasks_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(ID_LENGTH), nullable=True),
    Column("channel_id", String(ID_LENGTH), nullable=False),
    Column("user_id", String(ID_LENGTH), nullable=False),
    Column("region_id", String(ID_LENGTH), nullable=False),  # a region, or "all"
    Column("status", String(STATUS_LENGTH), nullable=True),
    Column("action", String(ID_LENGTH), nullable=True),
    # account|region|status|action: one of each per channel. Version 4 put the account first (the key, not
    # the constraint, carries it: the same on every engine, SQLite included); rows from before got "home|".
    Column("filter_key", String(KEY_LENGTH), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("suspended", String(ID_LENGTH), nullable=True),  # version 3: as for watches
    Column("account", String(ACCOUNT_LENGTH), nullable=False, server_default=HOME_ACCOUNT_NAME),  # version 4
    UniqueConstraint("channel_id", "filter_key", name="uq_ecs_tasks_subscriptions_key"),
)

# Version 3. Per person (or other key): how many channel-update commands in the current fixed window.
# One row per key, counted by one conditional UPDATE, so instances racing for the last slot get one each.
rate_limits = Table(
    "ecs_tasks_rate_limits",
    metadata,
    Column("rate_key", String(KEY_LENGTH), primary_key=True),
    Column("window_start", UtcDateTime(), nullable=False),
    Column("used", Integer, nullable=False),
)

# The outbox: one row per change to post, created in the same transaction as the compare-and-set that
# accepted the change. OutboxEntry is leased: only the lease holder posts; an expired lease is taken over.
transitions = Table(
    "ecs_tasks_transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("watch_id", Integer, nullable=False),
    Column("seq", Integer, nullable=False),  # the watch's version this change produced
    Column("kind", String(STATE_LENGTH), nullable=False),  # shared.updates.model.KIND_*
    Column("from_status", String(STATUS_LENGTH), nullable=True),
    Column("to_status", String(STATUS_LENGTH), nullable=True),
    Column("task_json", Text, nullable=True),  # None: the watch's own snapshot (an expiry note)
    Column("state", String(STATE_LENGTH), nullable=False),
    Column("lease_owner", String(ID_LENGTH), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("posted_ts", String(TS_LENGTH), nullable=True),  # the reply (or announced card) Slack accepted
    Column("created_at", UtcDateTime(), nullable=False),
    Column("posted_at", UtcDateTime(), nullable=True),
    UniqueConstraint("watch_id", "seq", name="uq_ecs_tasks_transitions_seq"),
    Index("ix_ecs_tasks_transitions_pending", "state", "lease_until"),
)


# Per (scope, account, region): the poller's cursor, where a throttled pass stopped and when a subscription
# scan last succeeded (shared.store.cursor_store). Version 5: a table of the cursors' own; the upgrade moves
# version 4's `ecs_tasks_poll_progress` rows (and version 3's `ecs_tasks_poll_state` ones) into it.
poll_cursors = Table(
    "ecs_tasks_poll_cursors",
    metadata,
    Column("scope", String(ID_LENGTH), primary_key=True, autoincrement=False),
    Column("account", String(ACCOUNT_LENGTH), primary_key=True, autoincrement=False),
    Column("region_id", String(ID_LENGTH), primary_key=True, autoincrement=False),
    Column("resume_after", String(KEY_LENGTH), nullable=True),  # the last task id done in an unfinished pass
    Column("last_success_at", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# One row per channel whose watches or subscriptions are capped: adding one locks the channel's row first
# (shared.store.channel_lock), so the count and the insert after it are one step for every instance. A new
# table, made by `create_all` on any version (no upgrade step).
channel_locks = Table(
    "ecs_tasks_channel_locks",
    metadata,
    Column("channel_id", String(ID_LENGTH), primary_key=True, autoincrement=False),
    Column("locked_at", UtcDateTime(), nullable=False),
)

# Version 8. Per channel: the accounts an admin bound it to in Slack (`/ecs-tasks bind`), which replace the
# configured binding for that channel (shared.policy); no row: the configured binding is in force.
channel_bindings = Table(
    "ecs_tasks_channel_bindings",
    metadata,
    Column("channel_id", String(ID_LENGTH), primary_key=True, autoincrement=False),
    Column("accounts", String(BINDING_LENGTH), nullable=False),  # configured names, comma-separated, in order
    Column("updated_by", String(ID_LENGTH), nullable=False),  # the admin's Slack user id
    Column("updated_at", UtcDateTime(), nullable=False),
)

__all__ = [
    "ENTRY_ABANDONED",
    "ENTRY_PENDING",
    "ENTRY_POSTED",
    "ENTRY_UNDELIVERABLE",
    "SCOPE_SUBSCRIPTIONS",
    "SCOPE_WATCHES",
]


# Version 6: while Slack refuses the bot's token the whole outbox holds (shared.updates.outbox); this one row
# says why and since when, so the bot's replies can say updates are paused (`bot.usecases.channel_status`).
outbox_hold = Table(
    "ecs_tasks_outbox_hold",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("reason", String(ID_LENGTH), nullable=False),
    Column("since", UtcDateTime(), nullable=False),
)
