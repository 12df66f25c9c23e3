"""The store's contract, run for real on SQLite, PostgreSQL and MariaDB: every once-only change is settled
by the database (one conditional statement), whoever races for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from shared.ecs.models import Task
from shared.store import SqlStore, open_store
from shared.store.claims import ClaimKind, claim_key
from shared.store.schema import ENTRY_POSTED, ENTRY_UNDELIVERABLE
from shared.store.sql_store import SCHEMA_VERSION
from shared.store.watch_store import ADDED, ALREADY, REVIVED
from shared.updates.model import (
    KIND_ANNOUNCE,
    KIND_CHANGE,
    KIND_EXPIRED,
    WATCH_ACTIVE,
    WATCH_ENDED,
    Accepted,
    Lease,
    NewWatch,
    PollTarget,
    Subscription,
)
from tests.poller_support import ENGINES, clean, database_url, fresh_store

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
TTL = timedelta(days=7)
A = Lease("poller-a", NOW + timedelta(minutes=5))
B = Lease("poller-b", NOW + timedelta(minutes=5))


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request.param, tmp_path)


@pytest.fixture
def store(url: str) -> Iterator[SqlStore]:
    yield from fresh_store(url)


def task(task_id: str = "t-1", status: str = "Processing") -> Task:
    return Task.model_validate(
        {
            "TaskId": task_id,
            "TaskStatus": status,
            "TaskAction": "ImportImage",
            "RegionId": "cn-hangzhou",
            "CreationTime": "2026-03-01T11:00:00Z",
        }
    )


def watch(store: SqlStore, task_id: str = "t-1", *, channel: str = "C1", status: str = "Processing") -> int:
    new = NewWatch("T1", channel, "U1", "cn-hangzhou", task(task_id, status), card_ts="100.1", thread_ts="100.1")
    watch_id, outcome = store.watches.add(new, now=NOW, ttl=TTL)
    assert outcome == ADDED
    return watch_id


def target(store: SqlStore, watch_id: int) -> PollTarget:
    return next(t for t in store.watches.poll_targets() if t.watch_id == watch_id)


def change(t: PollTarget, status: str, kind: str | None = KIND_CHANGE, *, ends: bool = False) -> Accepted:
    return Accepted(t, task(t.task_id, status), kind, ends=ends, announces=False)


# --- schema ---------------------------------------------------------------------------------------


def test_schema_is_created_and_upgraded_idempotently(url: str, store: SqlStore) -> None:
    # Given a store that was migrated already, when migrate runs again (and from a second process's engine)
    store.migrate()
    again = open_store(url)
    # Then nothing fails and the version is the current one
    assert store.schema_version() == again.schema_version() == SCHEMA_VERSION
    again.engine.dispose()


def test_a_version_1_database_is_upgraded_in_place_keeping_its_rows(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, insert, inspect

    from shared.store.schema import claims, metadata, schema_version

    # Given a database as version 1 left it: the claims table with a row, and version 1 recorded
    url = f"sqlite:///{tmp_path / 'v1.sqlite3'}"
    engine = create_engine(url)
    metadata.create_all(engine, tables=[schema_version, claims])
    with engine.begin() as connection:
        connection.execute(insert(schema_version).values(id=1, version=1))
        connection.execute(insert(claims).values(claim_key="k", state="done", lease_until=NOW, created_at=NOW))
    engine.dispose()
    # When the current code opens it (twice, as two instances starting at once would)
    first, second = open_store(url), open_store(url)
    # Then the new tables exist, the version moved on, and the old rows are still there
    assert {"ecs_tasks_watches", "ecs_tasks_transitions", "ecs_tasks_subscriptions", "ecs_tasks_poll_cursors"} <= set(
        inspect(first.engine).get_table_names()
    )
    assert first.schema_version() == second.schema_version() == SCHEMA_VERSION
    assert first.claim_state("k") == "done"
    first.engine.dispose()
    second.engine.dispose()


def test_datetimes_come_back_aware_and_in_utc(store: SqlStore) -> None:
    watch_id = watch(store)
    stored = store.watches.get(watch_id)
    assert stored is not None
    assert stored.created_at == NOW and stored.created_at.tzinfo is not None
    assert stored.expires_at == NOW + TTL


# --- watches --------------------------------------------------------------------------------------


def test_a_task_is_watched_once_per_channel_and_can_be_watched_again_after_it_stopped(store: SqlStore) -> None:
    watch_id = watch(store)
    same = NewWatch("T1", "C1", "U1", "cn-hangzhou", task(), card_ts="200.1", thread_ts="200.1")
    assert store.watches.add(same, now=NOW, ttl=TTL) == (watch_id, ALREADY)
    # Another channel may watch the same task
    other = NewWatch("T1", "C2", "U1", "cn-hangzhou", task(), card_ts="300.1", thread_ts="300.1")
    assert store.watches.add(other, now=NOW, ttl=TTL)[1] == ADDED
    # Stopped, then watched again: the same row comes back to life on the new card, its version moved on
    before = target(store, watch_id).version
    assert store.watches.stop("C1", [watch_id]) == 1
    assert store.watches.add(same, now=NOW, ttl=TTL) == (watch_id, REVIVED)
    revived = store.watches.get(watch_id)
    assert revived is not None and revived.card_ts == "200.1" and revived.state == WATCH_ACTIVE
    assert target(store, watch_id).version > before


def test_a_change_is_accepted_once_and_leased_to_the_poller_that_won(store: SqlStore) -> None:
    watch_id = watch(store)
    seen = target(store, watch_id)
    # When two pollers saw the same change from the same snapshot
    first = store.watches.accept(change(seen, "Finished", ends=True), now=NOW, lease=A)
    second = store.watches.accept(change(seen, "Finished", ends=True), now=NOW, lease=B)
    # Then exactly one recorded it, with one outbox row leased to the winner
    assert (first, second) == (True, False)
    rows = store.outbox.for_watch(watch_id)
    assert [(r["seq"], r["kind"], r["to_status"], r["lease_owner"]) for r in rows] == [
        (2, KIND_CHANGE, "Finished", "poller-a")
    ]
    ended = store.watches.get(watch_id)
    assert ended is not None and ended.state == WATCH_ENDED and ended.last_status == "Finished"


def test_a_stale_snapshot_cannot_record_an_old_change_again(store: SqlStore) -> None:
    watch_id = watch(store)
    old = target(store, watch_id)
    assert store.watches.accept(change(old, "Paused"), now=NOW, lease=A)
    assert store.watches.accept(change(target(store, watch_id), "Processing"), now=NOW, lease=A)
    # A poller still holding the first snapshot sees "Paused" and tries to record it: refused
    assert not store.watches.accept(change(old, "Paused"), now=NOW, lease=B)
    assert [r["to_status"] for r in store.outbox.for_watch(watch_id)] == ["Paused", "Processing"]


def test_concurrent_pollers_with_their_own_engines_record_one_change(url: str, store: SqlStore) -> None:
    watch_id = watch(store)
    seen = target(store, watch_id)
    stores = [open_store(url) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    results: list[bool] = []

    def race(other: SqlStore, n: int) -> None:
        barrier.wait()
        lease = Lease(f"poller-{n}", NOW + timedelta(minutes=5))
        results.append(other.watches.accept(change(seen, "Failed", ends=True), now=NOW, lease=lease))

    threads = [threading.Thread(target=race, args=(s, n)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in stores:
        other.engine.dispose()
    assert sorted(results) == [False] * 5 + [True]
    assert len(store.outbox.for_watch(watch_id)) == 1


def test_expiry_writes_a_note_once_and_only_for_a_card_that_was_posted(store: SqlStore) -> None:
    watch_id = watch(store)
    seen = target(store, watch_id)
    assert store.watches.expire(seen, now=NOW, lease=A)
    assert not store.watches.expire(seen, now=NOW, lease=B)  # a second poller with the same snapshot
    assert [r["kind"] for r in store.outbox.for_watch(watch_id)] == [KIND_EXPIRED]
    # A follow-up never announced (its status not reached yet) expires silently
    store.watches.add_followup(_subscription(store), task("t-7"), announce=False, now=NOW, ttl=TTL, lease=A)
    silent = next(t for t in store.watches.poll_targets() if t.task_id == "t-7")
    assert store.watches.expire(silent, now=NOW, lease=A)
    assert store.outbox.for_watch(silent.watch_id) == []


# --- subscriptions and follow-ups -------------------------------------------------------------------


def test_a_subscription_announces_each_task_once(store: SqlStore) -> None:
    subscription, created = store.subscriptions.add(
        team_id="T1", channel_id="C1", user_id="U1", region_id="all", status="Failed", action=None, now=NOW
    )
    assert created
    assert store.subscriptions.add(
        team_id="T1", channel_id="C1", user_id="U2", region_id="all", status="Failed", action=None, now=NOW
    ) == (subscription, False)
    failed = task("t-9", "Failed")
    assert store.watches.add_followup(subscription, failed, announce=True, now=NOW, ttl=TTL, lease=A)
    assert not store.watches.add_followup(subscription, failed, announce=True, now=NOW, ttl=TTL, lease=B)
    assert store.watches.settled_in_channels(["C1"], "cn-hangzhou", ["t-9", "t-10"]) == {("C1", "t-9")}
    pending = store.outbox.pending(A.owner)
    assert [(d.kind, d.task.task_id, d.lease_owner) for d in pending] == [(KIND_ANNOUNCE, "t-9", "poller-a")]
    # Posting the announcement makes its message the follow-up's card
    assert store.outbox.mark_posted(pending[0], A, posted_ts="555.5", now=NOW)
    followup = store.watches.get(pending[0].watch.id)
    assert followup is not None and (followup.card_ts, followup.thread_ts) == ("555.5", "555.5")


def test_unsubscribing_removes_the_subscription_and_stops_its_followups(store: SqlStore) -> None:
    subscription = _subscription(store)
    store.watches.add_followup(subscription, task("t-5"), announce=False, now=NOW, ttl=TTL, lease=A)
    removed = store.subscriptions.remove("C1", [subscription.id])
    assert [s.id for s in removed] == [subscription.id]
    assert store.watches.stop_followups([subscription.id]) == 1
    assert store.subscriptions.for_channel("C1") == [] and store.watches.poll_targets() == []


def _subscription(store: SqlStore) -> Subscription:
    return store.subscriptions.add(
        team_id=None, channel_id="C1", user_id="U1", region_id="cn-hangzhou", status=None, action=None, now=NOW
    )[0]


def test_a_poll_cursor_is_upserted_and_its_last_success_only_moves_forward(store: SqlStore) -> None:
    later, earlier = NOW + timedelta(minutes=2), NOW + timedelta(minutes=1)
    store.cursors.save("subscriptions", "cn-hangzhou", now=NOW, last_success_at=later)
    store.cursors.save("subscriptions", "cn-hangzhou", now=NOW, last_success_at=earlier)
    store.cursors.save("watches", "cn-hangzhou", now=NOW, resume_after="t-5")
    assert store.cursors.by_region("subscriptions")["cn-hangzhou"].last_success_at == later
    assert store.cursors.by_region("watches")["cn-hangzhou"].resume_after == "t-5"


# --- the outbox -----------------------------------------------------------------------------------


def test_an_expired_lease_is_taken_over_by_exactly_one_poller(store: SqlStore) -> None:
    for n in range(5):
        watch_id = watch(store, f"t-{n}")
        store.watches.accept(change(target(store, watch_id), "Finished", ends=True), now=NOW, lease=A)
    # While the lease runs, nobody else may take the rows
    assert store.outbox.take_over_expired(B, now=NOW + timedelta(minutes=1)) == 0
    # Once it ran out, one poller takes them all; a second finds none left
    later = NOW + timedelta(minutes=6)
    c, d = Lease("poller-c", later + timedelta(minutes=5)), Lease("poller-d", later + timedelta(minutes=5))
    assert store.outbox.take_over_expired(c, now=later) == 5
    assert store.outbox.take_over_expired(d, now=later) == 0
    assert {row.lease_owner for row in store.outbox.pending(c.owner)} == {"poller-c"}
    assert store.outbox.pending(d.owner) == []


def test_only_the_lease_holder_can_mark_a_row_posted(store: SqlStore) -> None:
    watch_id = watch(store)
    store.watches.accept(change(target(store, watch_id), "Finished", ends=True), now=NOW, lease=A)
    row = store.outbox.pending(A.owner)[0]
    assert not store.outbox.mark_posted(row, B, posted_ts="1.1", now=NOW)
    assert store.outbox.mark_posted(row, A, posted_ts="1.2", now=NOW)
    assert not store.outbox.mark_posted(row, A, posted_ts="1.3", now=NOW)
    assert store.outbox.pending(A.owner) == []
    assert [(r["state"], r["posted_ts"]) for r in store.outbox.for_watch(watch_id)] == [(ENTRY_POSTED, "1.2")]


def test_rows_held_elsewhere_never_crowd_out_an_owners_own(store: SqlStore) -> None:
    # Given earlier watches whose changes another poller holds (deferred for a while), and one of ours
    theirs = [watch(store, f"t-theirs{n}") for n in range(3)]
    ours = watch(store, "t-ours")
    for watch_id in theirs:
        store.watches.accept(change(target(store, watch_id), "Finished", ends=True), now=NOW, lease=A)
    store.watches.accept(change(target(store, ours), "Finished", ends=True), now=NOW, lease=B)
    # When we ask for our work with room for only one row
    (row,) = store.outbox.pending(B.owner, limit=1)
    # Then it is ours, not the first of theirs
    assert row.watch.id == ours and row.lease_owner == B.owner


def test_deferred_and_released_rows_wait_or_return_as_told(store: SqlStore) -> None:
    first, second = watch(store, "t-1"), watch(store, "t-2")
    for watch_id in (first, second):
        store.watches.accept(change(target(store, watch_id), "Finished", ends=True), now=NOW, lease=A)
    rows = {row.watch.id: row for row in store.outbox.pending(A.owner)}
    assert store.outbox.defer([rows[first].transition_id], A, until=NOW + timedelta(minutes=10)) == 1
    assert store.outbox.release_all(A, now=NOW) == 1
    # The released row is free at once; the deferred one only after its time
    holder = Lease("poller-b", NOW + timedelta(hours=1))
    assert store.outbox.take_over_expired(holder, now=NOW + timedelta(seconds=1)) == 1
    assert store.outbox.take_over_expired(holder, now=NOW + timedelta(minutes=11)) == 1
    closed = store.outbox.close([rows[first].transition_id], holder, state=ENTRY_UNDELIVERABLE)
    assert closed == 1 and store.outbox.count_by_state() == {"pending": 1, ENTRY_UNDELIVERABLE: 1}


def test_the_notice_claim_is_given_once(store: SqlStore) -> None:
    assert store.claim_channel_notice("not_in_channel", "C1", "U1", now=NOW)
    assert not store.claim_channel_notice("not_in_channel", "C1", "U1", now=NOW)
    store.complete_channel_notice("not_in_channel", "C1", "U1")
    assert not store.claim_channel_notice("not_in_channel", "C1", "U1", now=NOW + timedelta(days=1))


def test_old_claims_of_one_kind_are_purged_and_others_kept(store: SqlStore) -> None:
    old, recent = NOW - timedelta(days=2), NOW
    lazy_old, lazy_recent = claim_key(ClaimKind.DEFERRED_WORK, "old"), claim_key(ClaimKind.DEFERRED_WORK, "recent")
    notice_old = claim_key(ClaimKind.CHANNEL_NOTICE, "old")
    store.claim(lazy_old, now=old, lease=timedelta(seconds=90))
    store.claim(lazy_recent, now=recent, lease=timedelta(seconds=90))
    store.claim(notice_old, now=old, lease=timedelta(seconds=90))
    assert store.purge_deferred_work_claims(older_than=NOW - timedelta(days=1)) == 1
    assert store.claim_state(lazy_old) is None
    assert store.claim_state(lazy_recent) == "running" and store.claim_state(notice_old) == "running"


# --- schema version 3: one active follow per channel and task, suspension marks, rate limits ---------


def _v2_tables() -> Any:
    """The version-2 watches and subscriptions tables as version 2 created them (copied, not imported:
    the current schema has moved on)."""
    from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, Text, UniqueConstraint

    from shared.store.schema import UtcDateTime

    old = MetaData()
    Table(
        "ecs_tasks_watches",
        old,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("team_id", String(64), nullable=True),
        Column("channel_id", String(64), nullable=False),
        Column("user_id", String(64), nullable=False),
        Column("region_id", String(64), nullable=False),
        Column("task_id", String(191), nullable=False),
        Column("origin", String(64), nullable=False),
        Column("subscription_id", Integer, nullable=True),
        Column("wanted_status", String(32), nullable=True),
        Column("announced", Boolean, nullable=False),
        Column("last_status", String(32), nullable=True),
        Column("version", Integer, nullable=False),
        Column("task_json", Text, nullable=False),
        Column("card_ts", String(32), nullable=True),
        Column("thread_ts", String(32), nullable=True),
        Column("state", String(16), nullable=False),
        Column("problem", String(64), nullable=True),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("expires_at", UtcDateTime(), nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
        UniqueConstraint("channel_id", "region_id", "task_id", "origin", name="uq_ecs_tasks_watches_key"),
    )
    Table(
        "ecs_tasks_subscriptions",
        old,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("team_id", String(64), nullable=True),
        Column("channel_id", String(64), nullable=False),
        Column("user_id", String(64), nullable=False),
        Column("region_id", String(64), nullable=False),
        Column("status", String(32), nullable=True),
        Column("action", String(64), nullable=True),
        Column("filter_key", String(191), nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        UniqueConstraint("channel_id", "filter_key", name="uq_ecs_tasks_subscriptions_key"),
    )
    return old


def _v2_row(task_id: str, origin: str, *, announced: bool, card_ts: str | None) -> dict[str, Any]:
    return {
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "U1",
        "region_id": "cn-hangzhou",
        "task_id": task_id,
        "origin": origin,
        "announced": announced,
        "last_status": "Processing",
        "version": 1,
        "task_json": '{"TaskId":"' + task_id + '","TaskStatus":"Processing"}',
        "card_ts": card_ts,
        "thread_ts": card_ts,
        "state": "active",
        "created_at": NOW,
        "expires_at": NOW + TTL,
        "updated_at": NOW,
    }


def test_a_version_2_database_is_upgraded_to_one_active_follow_per_channel_and_task(url: str) -> None:
    from sqlalchemy import create_engine, insert

    from shared.store.schema import metadata, schema_version

    # Given a version-2 database where overlapping subscriptions each follow the same task in one channel
    engine = create_engine(url)
    metadata.drop_all(engine)
    old = _v2_tables()
    old.create_all(engine)
    metadata.create_all(engine, tables=[schema_version])
    with engine.begin() as connection:
        connection.execute(insert(schema_version).values(id=1, version=2))
        connection.execute(
            insert(old.tables["ecs_tasks_watches"]),
            [
                _v2_row("t-dup", "sub:1", announced=False, card_ts=None),
                _v2_row("t-dup", "sub:2", announced=True, card_ts="100.1"),
                _v2_row("t-dup", "sub:3", announced=True, card_ts="100.2"),
                _v2_row("t-solo", "watch", announced=True, card_ts="100.3"),
            ],
        )
    engine.dispose()
    # When the current code opens it (twice, as two instances starting at once would)
    first, second = open_store(url), open_store(url)
    try:
        # Then the version moved on, and each task has one active follow: the first card people saw
        assert first.schema_version() == second.schema_version() == SCHEMA_VERSION
        active = sorted((t.task_id, first.watches.get(t.watch_id).card_ts) for t in first.watches.poll_targets())  # type: ignore[union-attr]
        assert active == [("t-dup", "100.1"), ("t-solo", "100.3")]
        # And the new unique key holds: a second active follow of the same task in the channel is refused
        new = NewWatch("T1", "C1", "U1", "cn-hangzhou", task("t-dup"), card_ts="200.1", thread_ts="200.1")
        watch_id, outcome = first.watches.add(new, now=NOW, ttl=TTL)
        assert outcome == ALREADY and first.watches.get(watch_id).card_ts == "100.1"  # type: ignore[union-attr]
        assert first.subscriptions.set_suspended(_subscription(first).id, "channel_not_allowed")
    finally:
        first.engine.dispose()
        second.engine.dispose()
        clean(open_store(url))


def test_overlapping_subscriptions_of_a_channel_share_one_follow_announced_once(store: SqlStore) -> None:
    subs = [
        store.subscriptions.add(
            team_id="T1", channel_id="C1", user_id="U1", region_id="cn-hangzhou", status=s, action=a, now=NOW
        )[0]
        for s, a in ((None, None), ("Failed", None), (None, "ImportImage"), ("Failed", "ImportImage"))
    ]
    found = task("t-4", "Processing")
    # The status-filtered ones follow silently; the others announce; whatever the order, one card
    results = [
        store.watches.add_followup(subs[1], found, announce=False, now=NOW, ttl=TTL, lease=A),
        store.watches.add_followup(subs[0], found, announce=True, now=NOW, ttl=TTL, lease=A),
        store.watches.add_followup(subs[2], found, announce=True, now=NOW, ttl=TTL, lease=B),
        store.watches.add_followup(subs[3], found, announce=False, now=NOW, ttl=TTL, lease=B),
    ]
    assert results == [True, True, False, False]
    (followed,) = store.watches.poll_targets()
    assert followed.announced
    assert [r["kind"] for r in store.outbox.for_watch(followed.watch_id)] == [KIND_ANNOUNCE]
    # Another channel follows the same task on its own
    other = store.subscriptions.add(
        team_id="T1", channel_id="C2", user_id="U1", region_id="cn-hangzhou", status=None, action=None, now=NOW
    )[0]
    assert store.watches.add_followup(other, found, announce=True, now=NOW, ttl=TTL, lease=A)


def test_a_watch_takes_over_a_silent_follow_up_and_answers_already_for_an_announced_one(store: SqlStore) -> None:
    subscription = _subscription(store)
    store.watches.add_followup(subscription, task("t-silent"), announce=False, now=NOW, ttl=TTL, lease=A)
    store.watches.add_followup(subscription, task("t-shown"), announce=True, now=NOW, ttl=TTL, lease=A)
    pending = store.outbox.pending(A.owner)
    store.outbox.mark_posted(pending[0], A, posted_ts="300.1", now=NOW)
    silent = NewWatch("T1", "C1", "U1", "cn-hangzhou", task("t-silent"), card_ts="400.1", thread_ts="400.1")
    shown = NewWatch("T1", "C1", "U1", "cn-hangzhou", task("t-shown"), card_ts="400.1", thread_ts="400.1")
    silent_id, silent_outcome = store.watches.add(silent, now=NOW, ttl=TTL)
    shown_id, shown_outcome = store.watches.add(shown, now=NOW, ttl=TTL)
    assert (silent_outcome, shown_outcome) == (REVIVED, ALREADY)
    taken = store.watches.get(silent_id)
    assert taken is not None and taken.card_ts == "400.1" and taken.subscription_id is None
    assert store.watches.get(shown_id).card_ts == "300.1"  # type: ignore[union-attr]
    assert len(store.watches.poll_targets()) == 2
    live = store.watches.live_in_channel("C1", "cn-hangzhou", ["t-shown", "t-silent", "t-none"])
    assert sorted(w.task_id for w in live) == ["t-shown", "t-silent"]


def test_racing_instances_get_exactly_the_rate_limit_between_them(url: str, store: SqlStore) -> None:
    stores = [open_store(url) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    taken: list[bool] = []

    def race(other: SqlStore) -> None:
        barrier.wait()
        for _ in range(10):
            taken.append(other.rates.take("updates:T1:U1", limit=30, window=timedelta(minutes=1), now=NOW))

    threads = [threading.Thread(target=race, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in stores:
        other.engine.dispose()
    assert taken.count(True) == 30 and len(taken) == 60
    # Another person has their own count; the next window starts again
    assert store.rates.take("updates:T1:U2", limit=30, window=timedelta(minutes=1), now=NOW)
    assert store.rates.take("updates:T1:U1", limit=30, window=timedelta(minutes=1), now=NOW + timedelta(minutes=1))


def test_a_suspension_is_marked_once_and_cleared_once(store: SqlStore) -> None:
    watch_id = watch(store)
    assert store.watches.set_suspended(watch_id, "channel_not_allowed")
    assert not store.watches.set_suspended(watch_id, "channel_not_allowed")
    assert store.watches.set_suspended(watch_id, "team_not_allowed")
    assert target(store, watch_id).suspended == "team_not_allowed"
    assert store.watches.set_suspended(watch_id, None) and not store.watches.set_suspended(watch_id, None)


def test_active_watches_are_read_per_region_in_task_id_pages(store: SqlStore) -> None:
    for n in (3, 1, 2):
        watch(store, f"t-{n}")
        watch(store, f"t-{n}", channel="C2")
    first = store.watches.poll_batch("cn-hangzhou", after=None, limit=2)
    rest = store.watches.poll_batch("cn-hangzhou", after=first[-1].task_id, limit=2)
    wrapped = store.watches.poll_batch("cn-hangzhou", after=None, upto="t-1", limit=2)
    assert [t.task_id for t in first] == ["t-1", "t-1", "t-2", "t-2"]
    assert [t.task_id for t in rest] == ["t-3", "t-3"]
    assert [t.task_id for t in wrapped] == ["t-1", "t-1"]
    assert store.watches.active_groups() == [("home", "cn-hangzhou")]
    assert store.watches.poll_batch("cn-hangzhou", after=None, limit=5, statuses=["Waiting"]) == []


# --- schema version 4: accounts ----------------------------------------------------------------------------


def _account_watch(store: SqlStore, account: str, task_id: str = "t-1", *, channel: str = "C1") -> tuple[int, str]:
    new = NewWatch("T1", channel, "U1", "cn-hangzhou", task(task_id), "100.1", "100.1", account=account)
    return store.watches.add(new, now=NOW, ttl=TTL)


def test_a_channel_follows_a_task_id_once_per_account_and_each_account_is_polled_apart(store: SqlStore) -> None:
    # Given the same task id watched in one channel in the home account and in prod
    home_id, home_outcome = _account_watch(store, "home")
    prod_id, prod_outcome = _account_watch(store, "prod")
    # Then each is its own watch (the unique keys include the account), and a second watch in prod is refused
    assert (home_outcome, prod_outcome) == (ADDED, ADDED) and home_id != prod_id
    assert _account_watch(store, "prod") == (prod_id, ALREADY)
    assert store.watches.get(prod_id).account == "prod"  # type: ignore[union-attr]
    # And the poller sees two groups, and streams each account's watches apart
    assert store.watches.active_groups() == [("home", "cn-hangzhou"), ("prod", "cn-hangzhou")]
    batch = store.watches.poll_batch("cn-hangzhou", account="prod", after=None, limit=100)
    assert [(t.watch_id, t.account) for t in batch] == [(prod_id, "prod")]
    assert [t.watch_id for t in store.watches.poll_batch("cn-hangzhou", after=None, limit=100)] == [home_id]
    # and a command looking in some accounts sees only theirs
    found = store.watches.live_in_channel("C1", "cn-hangzhou", ["t-1"], accounts=["prod"])
    assert [w.id for w in found] == [prod_id]


def test_subscriptions_and_poll_cursors_are_kept_per_account(store: SqlStore) -> None:
    def add(account: str) -> tuple[Subscription, bool]:
        return store.subscriptions.add(
            team_id=None, channel_id="C1", user_id="U1", region_id="all", status="Failed", action=None, now=NOW,
            account=account,
        )  # fmt: skip

    (home, new_home), (prod, new_prod), (again, new_again) = add("home"), add("prod"), add("prod")
    assert (new_home, new_prod, new_again) == (True, True, False) and again.id == prod.id
    assert (home.account, prod.account) == ("home", "prod")
    # Poll cursors: one account's progress never moves another's
    later = NOW + timedelta(minutes=3)
    store.cursors.save("subscriptions", "cn-hangzhou", now=NOW, last_success_at=NOW)
    store.cursors.save("subscriptions", "cn-hangzhou", now=NOW, last_success_at=later, account="prod")
    store.cursors.save("watches", "cn-hangzhou", now=NOW, resume_after="t-9", account="prod")
    assert store.cursors.by_region("subscriptions")["cn-hangzhou"].last_success_at == NOW
    assert store.cursors.by_region("subscriptions", "prod")["cn-hangzhou"].last_success_at == later
    assert store.cursors.by_region("watches") == {}
    assert store.cursors.by_region("watches", "prod")["cn-hangzhou"].resume_after == "t-9"


def _v3_tables() -> Any:
    """The version-3 watches, subscriptions and poll-state tables as version 3 created them (copied, not
    imported: the current schema has moved on)."""
    from sqlalchemy import Column, Index, Integer, String, Table

    from shared.store.schema import UtcDateTime

    old = _v2_tables()
    old_watches = old.tables["ecs_tasks_watches"]
    for column in (Column("live", Integer), Column("suspended", String(64)), Column("checked_at", UtcDateTime())):
        old_watches.append_column(column)
    old.tables["ecs_tasks_subscriptions"].append_column(Column("suspended", String(64)))
    c = old_watches.c
    Index("ix_ecs_tasks_watches_state_region", c.state, c.region_id)
    Index("ix_ecs_tasks_watches_card", c.channel_id, c.card_ts)
    Index("uq_ecs_tasks_watches_live", c.channel_id, c.region_id, c.task_id, c.live, unique=True)
    Index("ix_ecs_tasks_watches_stream", c.state, c.region_id, c.task_id)
    Table(
        "ecs_tasks_poll_state",
        old,
        Column("scope", String(64), primary_key=True, autoincrement=False),
        Column("region_id", String(64), primary_key=True, autoincrement=False),
        Column("resume_after", String(191), nullable=True),
        Column("last_success_at", UtcDateTime(), nullable=True),
        Column("updated_at", UtcDateTime(), nullable=False),
    )
    return old


def test_a_version_3_database_is_upgraded_to_accounts_keeping_its_rows(url: str) -> None:
    from sqlalchemy import create_engine, insert, inspect

    from shared.store.schema import metadata, schema_version
    from shared.store.schema import watches as watches_table

    # Given a version-3 database with a watch, a subscription and the poller's progress
    engine = create_engine(url)
    old = _v3_tables()
    metadata.drop_all(engine)
    old.drop_all(engine)
    old.create_all(engine)
    metadata.create_all(engine, tables=[schema_version])
    with engine.begin() as connection:
        connection.execute(insert(schema_version).values(id=1, version=3))
        connection.execute(
            insert(old.tables["ecs_tasks_watches"]), [{**_v2_row("t-1", "watch", announced=True, card_ts="100.1"),
                                                        "live": 1}]
        )  # fmt: skip
        connection.execute(
            insert(old.tables["ecs_tasks_subscriptions"]).values(
                channel_id="C1", user_id="U1", region_id="cn-hangzhou", status="Failed", action=None,
                filter_key="cn-hangzhou|Failed|*", created_at=NOW,
            )
        )  # fmt: skip
        connection.execute(
            insert(old.tables["ecs_tasks_poll_state"]),
            [
                {
                    "scope": "watches",
                    "region_id": "cn-hangzhou",
                    "resume_after": "t-0",
                    "last_success_at": None,
                    "updated_at": NOW,
                },
                {
                    "scope": "subscriptions",
                    "region_id": "cn-hangzhou",
                    "resume_after": None,
                    "last_success_at": NOW,
                    "updated_at": NOW,
                },
            ],
        )
    engine.dispose()
    # When the current code opens it (twice, as two instances starting at once would)
    first, second = open_store(url), open_store(url)
    try:
        assert first.schema_version() == second.schema_version() == SCHEMA_VERSION
        # Then every row is the home account's
        (watched,) = first.watches.poll_targets()
        assert (watched.account, watched.task_id) == ("home", "t-1")
        (subscribed,) = first.subscriptions.all()
        assert subscribed.account == "home"
        again, created = first.subscriptions.add(
            team_id=None, channel_id="C1", user_id="U1", region_id="cn-hangzhou", status="Failed", action=None, now=NOW
        )
        assert (again.id, created) == (subscribed.id, False)
        # the poller's progress moved to the cursors' table (as the home account's), and the old table is gone
        assert first.cursors.by_region("watches")["cn-hangzhou"].resume_after == "t-0"
        assert first.cursors.by_region("subscriptions")["cn-hangzhou"].last_success_at == NOW
        found = inspect(first.engine)
        assert "ecs_tasks_poll_state" not in found.get_table_names()
        # every index of version 4's watches table is there (on SQLite too, where the table was rebuilt), and
        # version 3's replaced ones are gone
        indexes = {i["name"] for i in found.get_indexes("ecs_tasks_watches")}
        assert {i.name for i in watches_table.indexes} <= indexes
        assert {"uq_ecs_tasks_watches_account_live", "ix_ecs_tasks_watches_account_stream"} <= indexes
        assert not {"uq_ecs_tasks_watches_live", "ix_ecs_tasks_watches_stream"} & indexes
        # A second active follow of the task in the home account is still refused (the live key has the account)
        assert _account_watch(first, "home") == (watched.watch_id, ALREADY)
        # The same task id in another account is a watch of its own: version 3's key is gone on every engine
        # (SQLite's table was rebuilt, with its rows' ids)
        prod_id, outcome = _account_watch(first, "prod")
        assert outcome == ADDED and first.watches.get(prod_id).account == "prod"  # type: ignore[union-attr]
        assert first.watches.get(watched.watch_id).task_id == "t-1"  # type: ignore[union-attr]
        keys = [u["column_names"] for u in inspect(first.engine).get_unique_constraints("ecs_tasks_watches")]
        assert keys and all("account" in columns for columns in keys)
        assert "ecs_tasks_watches_v3" not in inspect(first.engine).get_table_names()
    finally:
        first.engine.dispose()
        second.engine.dispose()
        clean(open_store(url))


# --- schema version 5: the poller's cursors in a table of their own --------------------------------------


def _v4_poll_progress() -> Any:
    """Version 4's poll-progress table as version 4 created it (copied: the current schema has moved on)."""
    from sqlalchemy import Column, MetaData, String, Table

    from shared.store.schema import UtcDateTime

    old = MetaData()
    Table(
        "ecs_tasks_poll_progress",
        old,
        Column("scope", String(64), primary_key=True, autoincrement=False),
        Column("account", String(32), primary_key=True, autoincrement=False),
        Column("region_id", String(64), primary_key=True, autoincrement=False),
        Column("resume_after", String(191), nullable=True),
        Column("last_success_at", UtcDateTime(), nullable=True),
        Column("updated_at", UtcDateTime(), nullable=False),
    )
    return old


def test_a_version_4_database_is_upgraded_moving_its_poll_cursors_to_their_own_table(url: str) -> None:
    from sqlalchemy import create_engine, insert, inspect

    from shared.store.schema import metadata, poll_cursors, schema_version

    # Given a version-4 database: every table but the cursors' own, and the poller's progress per account
    engine = create_engine(url)
    old = _v4_poll_progress()
    metadata.drop_all(engine)
    old.drop_all(engine)
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if t is not poll_cursors])
    old.create_all(engine)
    later = NOW + timedelta(minutes=3)
    with engine.begin() as connection:
        connection.execute(insert(schema_version).values(id=1, version=4))
        connection.execute(
            insert(old.tables["ecs_tasks_poll_progress"]),
            [
                {"scope": "watches", "account": "home", "region_id": "cn-hangzhou", "resume_after": "t-4",
                 "last_success_at": None, "updated_at": NOW},
                {"scope": "subscriptions", "account": "home", "region_id": "cn-hangzhou", "resume_after": None,
                 "last_success_at": NOW, "updated_at": NOW},
                {"scope": "subscriptions", "account": "prod", "region_id": "cn-beijing", "resume_after": None,
                 "last_success_at": later, "updated_at": NOW},
            ],
        )  # fmt: skip
    engine.dispose()
    # When the current code opens it (twice, as two instances starting at once would)
    first, second = open_store(url), open_store(url)
    try:
        assert first.schema_version() == second.schema_version() == SCHEMA_VERSION
        # Then every cursor is in the cursors' table, per account, and version 4's table is gone
        assert first.cursors.by_region("watches")["cn-hangzhou"].resume_after == "t-4"
        assert first.cursors.by_region("subscriptions")["cn-hangzhou"].last_success_at == NOW
        assert first.cursors.by_region("subscriptions", "prod")["cn-beijing"].last_success_at == later
        assert first.cursors.by_region("watches", "prod") == {}
        found = inspect(first.engine).get_table_names()
        assert "ecs_tasks_poll_cursors" in found and "ecs_tasks_poll_progress" not in found
        # and the moved cursors go on as any other: a later success moves one forward, an earlier one does not
        first.cursors.save("subscriptions", "cn-beijing", now=NOW, last_success_at=NOW, account="prod")
        assert first.cursors.by_region("subscriptions", "prod")["cn-beijing"].last_success_at == later
    finally:
        first.engine.dispose()
        second.engine.dispose()
        clean(open_store(url))


# --- transactions: a conflict the database reports is retried ---------------------------------------------


def _conflict_once(store: SqlStore, statement: str) -> list[str]:
    """Have the engine's own driver report a transient conflict (PostgreSQL and MariaDB: a deadlock; SQLite:
    a busy file) the first time a statement starting with `statement` runs; returns the statements run."""
    from sqlalchemy import event

    dialect = store.engine.dialect.name
    seen: list[str] = []

    def conflict() -> BaseException:
        if dialect == "postgresql":
            import psycopg

            return psycopg.errors.DeadlockDetected("deadlock detected")
        if dialect in ("mysql", "mariadb"):
            import pymysql  # type: ignore[import-untyped]

            deadlock: BaseException = pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock")
            return deadlock
        import sqlite3

        return sqlite3.OperationalError("database is locked")

    def before(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if sql.lstrip().upper().startswith(statement):
            seen.append(sql)
            if len(seen) == 1:
                raise conflict()

    event.listen(store.engine, "before_cursor_execute", before)
    return seen


def test_a_followup_announcement_interrupted_by_a_deadlock_is_retried_whole(store: SqlStore) -> None:
    # Given the database reports a deadlock at the announcement's outbox row, after the follow-up was inserted
    subscription = _subscription(store)
    seen = _conflict_once(store, "INSERT INTO ECS_TASKS_TRANSITIONS")
    # When the scan adds the follow-up
    added = store.watches.add_followup(subscription, task("t-3", "Failed"), announce=True, now=NOW, ttl=TTL, lease=A)
    # Then the transaction ran again from the start (the first insert rolled back): one follow-up, one row
    assert added and len(seen) == 2
    (pending,) = store.outbox.pending(A.owner)
    assert (pending.kind, pending.task.task_id) == (KIND_ANNOUNCE, "t-3")
    assert [t.task_id for t in store.watches.poll_targets()] == ["t-3"]


def test_a_problem_mark_and_an_undeliverable_end_interrupted_by_a_deadlock_are_retried(store: SqlStore) -> None:
    watch_id = watch(store)
    seen = _conflict_once(store, "UPDATE ECS_TASKS_WATCHES")
    store.watches.set_problem(watch_id, "not_in_channel")
    assert len(seen) == 2 and store.watches.get(watch_id).problem == "not_in_channel"  # type: ignore[union-attr]
    seen.clear()
    assert store.watches.end_undeliverable(watch_id, "channel_not_found", now=NOW)
    assert len(seen) == 2
    ended = store.watches.get(watch_id)
    assert ended is not None and (ended.state, ended.problem) == ("undeliverable", "channel_not_found")


def test_an_accepted_change_interrupted_by_a_deadlock_is_retried_whole(store: SqlStore) -> None:
    watch_id = watch(store)
    seen = _conflict_once(store, "INSERT INTO ECS_TASKS_TRANSITIONS")
    assert store.watches.accept(change(target(store, watch_id), "Succeeded", ends=True), now=NOW, lease=A)
    assert len(seen) == 2
    assert [d.to_status for d in store.outbox.pending(A.owner)] == ["Succeeded"]


# --- schema versions 6 to 8: who started a task, the outbox's hold, bindings made in Slack ---------------


def test_a_version_5_database_is_upgraded_to_store_who_started_each_task(url: str) -> None:
    from sqlalchemy import create_engine, insert, inspect, text

    from shared.store.schema import metadata, schema_version, watches

    # Given a version-5 database: today's tables less the watches' started_by column, and a follow in it
    engine = create_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {watches.name} DROP COLUMN started_by"))
        connection.execute(insert(schema_version).values(id=1, version=5))
    engine.dispose()
    old = open_store(url)
    try:
        # When the current code opens it (twice, as two instances starting at once would)
        first, second = old, open_store(url)
        assert first.schema_version() == second.schema_version() == SCHEMA_VERSION
        assert "started_by" in {c["name"] for c in inspect(first.engine).get_columns(watches.name)}
        # Then a follow records who started its task, and an event that comes later fills in an earlier one
        subscription = _subscription(first)
        assert first.watches.add_followup(
            subscription, task("t-new"), announce=True, now=NOW, ttl=TTL, lease=A, started_by="alice (home)"
        )
        assert first.watches.add_followup(subscription, task("t-old"), announce=True, now=NOW, ttl=TTL, lease=A)
        assert first.watches.note_started_by("home", "cn-hangzhou", "t-old", "bob (home)") == 1
        assert first.watches.note_started_by("home", "cn-hangzhou", "t-old", "carol (home)") == 0
        shown = {w.task_id: w.started_by for w in first.watches.for_channel("C1")}
        assert shown == {"t-new": "alice (home)", "t-old": "bob (home)"}
        second.engine.dispose()
    finally:
        old.engine.dispose()


def test_a_version_6_database_is_upgraded_with_the_outbox_hold(url: str) -> None:
    from sqlalchemy import create_engine, insert, inspect

    from shared.store.schema import metadata, outbox_hold, schema_version

    # Given a version-6 database: every table but the outbox's hold
    engine = create_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if t is not outbox_hold])
    with engine.begin() as connection:
        connection.execute(insert(schema_version).values(id=1, version=6))
    engine.dispose()
    # When the current code opens it (twice, as two instances starting at once would)
    first, second = open_store(url), open_store(url)
    try:
        assert first.schema_version() == second.schema_version() == SCHEMA_VERSION
        assert "ecs_tasks_outbox_hold" in inspect(first.engine).get_table_names()
        # Then the hold is recorded once, keeps when it began, and is lifted once
        assert first.hold.current() is None
        first.hold.hold("token_revoked", now=NOW)
        second.hold.hold("invalid_auth", now=NOW + timedelta(minutes=5))
        assert first.hold.current() == ("invalid_auth", NOW)
        assert second.hold.release() and not first.hold.release()
        assert first.hold.current() is None
    finally:
        first.engine.dispose()
        second.engine.dispose()
        clean(open_store(url))


def test_a_version_7_database_is_upgraded_with_the_bindings_table(url: str) -> None:
    from sqlalchemy import create_engine, insert, inspect

    from shared.store.schema import channel_bindings, metadata, schema_version

    # Given a version-7 database: every table but the bindings'
    engine = create_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if t is not channel_bindings])
    with engine.begin() as connection:
        connection.execute(insert(schema_version).values(id=1, version=7))
    engine.dispose()
    # When the current code opens it (twice, as two instances starting at once would)
    first, second = open_store(url), open_store(url)
    try:
        # Then it is at the current version, with the bindings' table, which works
        assert first.schema_version() == second.schema_version() == SCHEMA_VERSION == 8
        assert "ecs_tasks_channel_bindings" in inspect(first.engine).get_table_names()
        first.bindings.put("C0OPS", ("prod", "staging"), by="U0ADMIN", now=NOW)
        assert second.bindings.all() == {"C0OPS": ("prod", "staging")}
    finally:
        first.engine.dispose()
        second.engine.dispose()
        clean(open_store(url))


def test_a_binding_is_replaced_whole_and_removed(store: SqlStore) -> None:
    store.bindings.put("C0OPS", ("prod",), by="U0ADMIN", now=NOW)
    store.bindings.put("C0OPS", ("staging", "prod"), by="U0OTHER", now=NOW + timedelta(minutes=1))
    held = store.bindings.get("C0OPS")
    assert held is not None and held.accounts == ("staging", "prod") and held.updated_by == "U0OTHER"
    assert held.updated_at == NOW + timedelta(minutes=1)
    # An empty binding removes the row: the channel is back to its configured one
    store.bindings.put("C0OPS", (), by="U0ADMIN", now=NOW)
    assert store.bindings.get("C0OPS") is None and store.bindings.all() == {}
    assert store.bindings.remove("C0OPS") is False


def test_two_admins_binding_a_channel_at_once_leave_one_binding_whole(store: SqlStore) -> None:
    bindings = [("prod",), ("staging", "qa")]
    barrier = threading.Barrier(len(bindings))
    failures: list[BaseException] = []  # a thread's exception is otherwise lost (pytest only warns of it)

    def bind(accounts: tuple[str, ...]) -> None:
        barrier.wait()
        try:
            store.bindings.put("C0RACE", accounts, by="U0ADMIN", now=NOW)
        except BaseException as error:  # noqa: BLE001 - asserted below, in the test's own thread
            failures.append(error)

    threads = [threading.Thread(target=bind, args=(accounts,)) for accounts in bindings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Both admins were answered (neither put failed on the other's row), and one binding is whole
    assert failures == []
    assert store.bindings.all()["C0RACE"] in bindings
