"""Tasks announced as they start: an ActionTrail API-call event is a hint, DescribeTasks the truth.

For each checked call (`shared.updates.api_calls`): the event's account id maps to the configured accounts
that share it (home: the function's own, `FC_ACCOUNT_ID`); an account no binding covers is ignored, with a log
line. The event is claimed once in the store (EventBridge delivers at least once). The task the call started
is found in that account and region — by the TaskId the response names (DescribeTasks, then
DescribeTaskAttribute for a task it does not list yet), or else among the tasks of that action created around
the event's time, by the resource the call named. Each channel's subscriptions then start following it by
the poller's own rule (`shared.updates.plan.discoveries`, one follow per channel and task), naming who
started it, and the outbox posts the announcements at once, under a lease of this handler's own. An event
whose task ECS does not know posts nothing and gives its claim back, so a redelivery looks once more.

A CancelTask by someone other than ecs-tasks (its Slack users' `slack-<user id>` sessions, its poller, the Slack
function's own role in the home account) is told in the thread of each channel that follows the task;
ecs-tasks' own cancels were told when they were made.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.ecs.accounts import HOME_ACCOUNT_NAME, AccountDirectory
from shared.ecs.finder import find_tasks
from shared.ecs.models import Task
from shared.ecs.retry import Deadline
from shared.errors import ApiError
from shared.log import log_context, log_event
from shared.policy import AccessPolicy, stored_refusal
from shared.updates.api_calls import ApiCall, Caller
from shared.updates.cards import cancelled_by_note
from shared.updates.follows import follow_discoveries
from shared.updates.model import Lease, Subscription
from shared.updates.notifier import ChannelUnavailable, Notifier, SlackRejected, SlackUnavailable
from shared.updates.outbox import EcsClients, OutboxConfig, OutboxSender
from shared.updates.plan import Scan, discoveries
from shared.updates.storage import EventStorage

# Tasks created this long either side of the event's time are candidates, when the response names no TaskId.
MATCH_WINDOW = timedelta(minutes=2)
# Event claims are kept this long: EventBridge retries within a day.
EVENT_CLAIM_RETENTION = timedelta(days=1)
LEASE = timedelta(minutes=5)

ANNOUNCED = "announced"
DUPLICATE = "duplicate"
IGNORED = "ignored"
UNKNOWN_TASK = "unknown_task"
NOTED = "noted"
FAILED = "failed"


@dataclass(frozen=True)
class EventsConfig:
    policy: AccessPolicy
    ttl: timedelta
    home_account_id: str | None  # FC_ACCOUNT_ID: the function's own account
    attribution: bool = True  # ECS_TASKS_EVENT_ATTRIBUTION: name who started or cancelled a task
    # The Slack function's role name (ECS_TASKS_SLACK_ROLE_ARN): its sessions in the home account are ecs-tasks'.
    own_role_name: str | None = None
    min_post_s: float = 10.0
    # Asked for each event, when given: today's policy with the channel bindings made in Slack (as the poller
    # asks it each tick), so an event never reaches a channel a binding took out of the account.
    policy_source: Callable[[], AccessPolicy] | None = None


@dataclass(frozen=True)
class Handled:
    outcome: str
    posted: int = 0


def accounts_for(directory: AccountDirectory, account_id: str, home_account_id: str | None) -> list[str]:
    """The configured names of the event's account: each account whose role lives in it, and home when it
    is the function's own."""
    names = [name for name, account in sorted(directory.accounts.items()) if account.account_id == account_id]
    home = directory.named(HOME_ACCOUNT_NAME)
    if home is not None and home.is_home and home_account_id == account_id and HOME_ACCOUNT_NAME not in names:
        names.append(HOME_ACCOUNT_NAME)
    return names


def bound_anywhere(directory: AccountDirectory, name: str) -> bool:
    """Whether some channel works in the account (its binding, the default binding, or home by default)."""
    if name in directory.default_binding or any(name in names for names in directory.channel_bindings.values()):
        return True
    return name == HOME_ACCOUNT_NAME and not directory.default_binding


class EventAnnouncer:
    def __init__(
        self,
        store: EventStorage,
        clients: EcsClients,
        notifier: Notifier,
        config: EventsConfig,
        *,
        clock: Callable[[], datetime],
        owner: str,
    ) -> None:
        self._store = store
        self._clients = clients
        self._notifier = notifier
        self._config = config
        self._clock = clock
        self._owner = owner
        self._outbox = OutboxSender(
            store,
            clients,
            notifier,
            OutboxConfig(ttl=config.ttl, min_post_s=config.min_post_s, policy=config.policy),
            clock=clock,
        )

    def handle(self, call: ApiCall, deadline: Deadline) -> Handled:
        if self._config.policy_source is not None:
            policy = self._config.policy_source()
            self._config = dataclasses.replace(self._config, policy=policy)
            self._outbox.policy = policy
        directory = self._config.policy.accounts
        names = [
            n
            for n in accounts_for(directory, call.account_id, self._config.home_account_id)
            if bound_anywhere(directory, n)
        ]
        with log_context(region_id=call.region_id, action=call.action):
            # Ignored events are logged by the caller's one line per event, with the outcome.
            if not names:
                return Handled(IGNORED)
            if self._config.policy.regions and call.region_id not in self._config.policy.regions:
                return Handled(IGNORED)
            if not self._store.claim_event(call.key, now=self._clock()):
                return Handled(DUPLICATE)
            try:
                handled = self._handle(call, names, deadline)
            except ApiError as error:
                # ECS (or STS) could not answer: the claim is given back for a redelivery to try again.
                self._store.release_event(call.key)
                log_event("event.failed", level=logging.WARNING, outcome=error.code)
                return Handled(FAILED)
            if handled.outcome == UNKNOWN_TASK:
                self._store.release_event(call.key)
            else:
                self._store.complete_event(call.key)
            self._store.purge_event_claims(older_than=self._clock() - EVENT_CLAIM_RETENTION)
            return handled

    def _handle(self, call: ApiCall, names: Sequence[str], deadline: Deadline) -> Handled:
        posted = 0
        known = False
        for name in names:
            account = self._config.policy.accounts.named(name)
            if account is None or not account.covers(call.region_id):
                continue
            if call.cancels:
                posted += self._cancelled(call, name)
                known = True
                continue
            task = self._find(call, name, deadline)
            if task is None:
                continue
            known = True
            posted += self._announce(call, name, task, deadline)
        if call.cancels:
            return Handled(NOTED, posted)
        return Handled(ANNOUNCED if known else UNKNOWN_TASK, posted)

    def _starter(self, caller: Caller | None, account: str) -> str | None:
        if caller is None or not self._config.attribution:
            return None
        return f"{caller.shown()} ({account})"

    # --- a task started ------------------------------------------------------------------------------

    def _find(self, call: ApiCall, account: str, deadline: Deadline) -> Task | None:
        client = self._clients(account)
        if call.task_id is not None:
            found = find_tasks(client, call.region_id, [call.task_id], deadline=deadline)
            task = next(iter(found.tasks), None)
            return task.with_region(call.region_id) if task is not None else None
        if call.resource_id is None:
            return None
        candidates = [
            t
            for t in client.iter_tasks(
                call.region_id,
                start_time=call.event_time - MATCH_WINDOW,
                end_time=call.event_time + MATCH_WINDOW,
                action=call.action,
                deadline=deadline,
            )
            if t.resource_id == call.resource_id
        ]
        if not candidates:
            return None

        # The one created closest to the call (CreationTime may come to the minute).
        def distance(task: Task) -> float:
            return abs(((task.creation_time or call.event_time) - call.event_time).total_seconds())

        best = min(candidates, key=distance)
        return best.with_region(call.region_id)

    def _announce(self, call: ApiCall, account: str, task: Task, deadline: Deadline) -> int:
        starter = self._starter(call.caller, account)
        subscriptions = [s for s in self._store.subscriptions.all() if self._wants(s, account)]
        now = self._clock()
        lease = Lease(self._owner, now + LEASE)
        scan = Scan(start=call.event_time - MATCH_WINDOW, end=now, subscriptions=tuple(subscriptions))
        follow_discoveries(
            self._store.watches,
            discoveries(scan, [task]),
            region_id=call.region_id,
            account=account,
            now=now,
            ttl=self._config.ttl,
            lease=lease,
            started_by=starter,
        )
        if starter is not None:
            # Follows the poller made before the event came (or a watch someone set) now know the starter too.
            self._store.watches.note_started_by(account, call.region_id, task.task_id, starter)
        try:
            return self._outbox.deliver(lease, deadline).posted
        finally:
            self._store.outbox.release_all(lease, now=self._clock())

    def _wants(self, subscription: Subscription, account: str) -> bool:
        if subscription.account != account or subscription.suspended is not None:
            return False
        refusal = stored_refusal(
            self._config.policy,
            team_id=subscription.team_id,
            channel_id=subscription.channel_id,
            region_id=subscription.region_id,
            account=account,
        )
        return refusal is None

    def _by_ecs_tasks(self, caller: Caller) -> bool:
        """ecs-tasks' own call: a session it names (`slack-<user>`, its poller's), or any session of the Slack
        function's own role in the home account (its calls there run under that role, as Function Compute names
        the session)."""
        if caller.is_ecs_tasks:
            return True
        own = self._config.own_role_name
        home = self._config.home_account_id
        return own is not None and caller.role_name == own and caller.account_id == home

    # --- a task cancelled ----------------------------------------------------------------------------

    def _cancelled(self, call: ApiCall, account: str) -> int:
        """Tell each channel following the task who cancelled it, unless ecs-tasks did (it said so then)."""
        caller = call.caller
        if call.task_id is None or caller is None or self._by_ecs_tasks(caller) or not self._config.attribution:
            return 0
        posted = 0
        note = cancelled_by_note(call.task_id, f"{caller.shown()} ({account})")
        for watch in self._store.watches.live_for_task(account, call.region_id, call.task_id):
            refusal = stored_refusal(
                self._config.policy,
                team_id=watch.team_id,
                channel_id=watch.channel_id,
                region_id=watch.region_id,
                account=watch.account,
            )
            thread = watch.thread_ts or watch.card_ts
            if refusal is not None or thread is None:
                continue
            try:
                self._notifier.post(watch.channel_id, note, thread_ts=thread)
            except (ChannelUnavailable, SlackUnavailable, SlackRejected) as error:
                # The poller's own notices about the task still follow; this note is not retried.
                log_event("event.note_failed", level=logging.WARNING, outcome=type(error).__name__)
                continue
            posted += 1
        return posted
