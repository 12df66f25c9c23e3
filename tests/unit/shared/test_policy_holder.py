"""The policy in force (shared.policy.PolicyHolder): answered from memory, asked of its source again at most
once per staleness, on an injected clock; a failing or slow source never holds up the other callers."""

from __future__ import annotations

import threading

import pytest

from shared.policy import AccessPolicy, PolicyHolder

STALENESS_S = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Source:
    """Hands out a new policy (channel C<n>) on every ask, or raises what `failure` holds."""

    def __init__(self) -> None:
        self.asked = 0
        self.failure: Exception | None = None

    def __call__(self) -> AccessPolicy:
        self.asked += 1
        if self.failure is not None:
            raise self.failure
        return AccessPolicy(channel_ids=frozenset({f"C{self.asked}"}))


def channels(policy: AccessPolicy) -> set[str]:
    return set(policy.channel_ids)


def test_the_source_is_asked_once_at_construction_then_not_again_while_the_policy_is_fresh() -> None:
    clock, source = Clock(), Source()
    holder = PolicyHolder(source, staleness_s=STALENESS_S, monotonic=clock)
    assert source.asked == 1
    # When many queries ask within the staleness, then none of them waits on the source
    for step in range(300):
        clock.now = 1000.0 + step * 0.1  # up to 29.9 s later
        assert channels(holder.current()) == {"C1"}
    assert source.asked == 1


def test_a_stale_policy_is_refreshed_once_then_held_again() -> None:
    clock, source = Clock(), Source()
    holder = PolicyHolder(source, staleness_s=STALENESS_S, monotonic=clock)
    # When the held policy is as old as the staleness, the next query asks the source and gets its answer
    clock.now += STALENESS_S
    assert channels(holder.current()) == {"C2"}
    assert source.asked == 2
    # And the queries after it are answered from memory until it is stale in its turn
    clock.now += STALENESS_S - 0.1
    assert channels(holder.current()) == {"C2"}
    assert source.asked == 2
    clock.now += 0.1
    assert channels(holder.current()) == {"C3"}


def test_a_failing_source_leaves_the_held_policy_in_force_until_the_next_staleness() -> None:
    clock, source = Clock(), Source()
    holder = PolicyHolder(source, staleness_s=STALENESS_S, monotonic=clock)
    source.failure = ConnectionError("the database is away")
    clock.now += STALENESS_S
    # The query that asked sees the source's error
    with pytest.raises(ConnectionError):
        holder.current()
    # The queries after it keep the held policy, without asking the source on each of them
    clock.now += 1.0
    assert channels(holder.current()) == {"C1"}
    assert source.asked == 2
    # And once another staleness has passed, the source is asked again
    source.failure = None
    clock.now += STALENESS_S
    assert channels(holder.current()) == {"C3"}


def test_while_one_caller_refreshes_the_others_keep_the_held_policy() -> None:
    clock = Clock()
    entered, release = threading.Event(), threading.Event()
    answers = iter([AccessPolicy(channel_ids=frozenset({"C1"})), AccessPolicy(channel_ids=frozenset({"C2"}))])
    asked: list[None] = []

    def slow_source() -> AccessPolicy:
        asked.append(None)
        if len(asked) > 1:
            entered.set()
            release.wait(5)
        return next(answers)

    holder = PolicyHolder(slow_source, staleness_s=STALENESS_S, monotonic=clock)
    clock.now += STALENESS_S
    refreshed: list[AccessPolicy] = []
    refresher = threading.Thread(target=lambda: refreshed.append(holder.current()))
    refresher.start()
    assert entered.wait(5)
    # While the source is slow to answer one caller, another is answered at once with the held policy
    assert channels(holder.current()) == {"C1"}
    assert len(asked) == 2
    release.set()
    refresher.join(5)
    assert [channels(p) for p in refreshed] == [{"C2"}]
    assert channels(holder.current()) == {"C2"}


def test_a_fixed_policy_is_the_one_in_force_however_long_the_process_runs() -> None:
    # Settings are today's only source: each refresh hands back the very policy built at start
    clock = Clock()
    policy = AccessPolicy(team_ids=frozenset({"T1"}))
    holder = PolicyHolder.fixed(policy, monotonic=clock)
    for _ in range(3):
        clock.now += 10 * 24 * 3600
        assert holder.current() is policy


# --- a holder refreshing from the store (channel bindings made in Slack) -------------------------------


def test_a_refreshing_holder_asks_its_source_at_the_first_query_then_once_per_staleness() -> None:
    clock, source = Clock(), Source()
    base = AccessPolicy(channel_ids=frozenset({"BASE"}))
    holder = PolicyHolder.refreshing(base, source, staleness_s=STALENESS_S, monotonic=clock)
    # Building it asks nothing (a cold instance opens no database to be built)
    assert source.asked == 0
    # The first query gets the source's policy, never the base in its place
    assert channels(holder.current()) == {"C1"}
    clock.now += STALENESS_S - 0.1
    assert channels(holder.current()) == {"C1"} and source.asked == 1
    clock.now += 0.1
    assert channels(holder.current()) == {"C2"}


def test_a_refreshing_holder_whose_source_never_answered_raises_to_every_caller_until_it_does() -> None:
    clock, source = Clock(), Source()
    holder = PolicyHolder.refreshing(AccessPolicy(channel_ids=frozenset({"BASE"})), source, monotonic=clock)
    source.failure = ConnectionError("the database is away")
    # Each query sees the failure: the base (which a binding made in Slack may narrow) is never used instead
    for _ in range(3):
        with pytest.raises(ConnectionError):
            holder.current()
    assert source.asked == 3
    source.failure = None
    assert channels(holder.current()) == {"C4"}


def test_slack_bindings_replace_the_configured_binding_per_channel_keeping_only_configured_names() -> None:
    from shared.ecs.accounts import Account, AccountDirectory

    accounts = {name: Account(name, f"acs:ram::1111111111111111:role/{name}") for name in ("prod", "staging")}
    base = AccessPolicy(accounts=AccountDirectory(accounts, {"C0A": ("prod",), "C0B": ("prod",)}, ("prod",)))
    policy = base.with_slack_bindings({"C0A": ("staging", "gone"), "C0C": ("gone",)})
    # C0A's binding made in Slack replaces its configured one; C0B keeps its own; C0C's names no account now
    assert [a.name for a in policy.accounts.accounts_for_channel("C0A")] == ["staging"]
    assert [a.name for a in policy.accounts.accounts_for_channel("C0B")] == ["prod"]
    assert [a.name for a in policy.accounts.accounts_for_channel("C0C")] == ["prod"]
