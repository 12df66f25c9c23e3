"""Delivering the outbox to Slack: each accepted change posted once, in order, by the holder of its lease.

The order of posting and recording, and why:

1. The change was *accepted* before anything is posted: one conditional UPDATE on the watch's version
   (two pollers that saw the same change cannot both win) and, in the same transaction, an outbox row
   leased to the winner. A retried timer event or an overlapping tick finds the version moved on and
   posts nothing; a crash before posting leaves the row pending, and when its lease runs out the next
   tick takes it over (one conditional UPDATE) and posts it — so nothing is lost, a final Failed notice
   included.
2. The card is updated with `chat.update`. That is idempotent: doing it again after a crash is harmless.
3. The thread reply (or a subscription's new card) is posted with `chat.postMessage`: the one step that
   is not idempotent, since Slack has no idempotency key for it.
4. At once, with no other work in between, one conditional UPDATE records the row as posted together
   with the `ts` Slack returned (for a new card, that ts becomes the watch's card in the same
   transaction).

The remaining window is between 3 and 4: if the process dies after Slack accepted the post and before
the UPDATE commits (a few milliseconds: one database round trip), or if Slack's answer to the post is
lost in the network, the row stays pending and is posted again when its lease runs out: that change
then appears twice in the thread. It is never lost. Closing the window entirely would need reading the
thread back (conversations.replies) before re-posting, which the bot's scopes and the emulator do not
cover today. A lease far longer than a tick (and a check that enough of it is left before each post)
keeps a slow but live poller from being overtaken.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import groupby

from shared.ecs.client import EcsClient
from shared.ecs.models import Task, TaskAttribute
from shared.ecs.query import TaskStatus
from shared.ecs.retry import Deadline
from shared.errors import EcsApiError, StsApiError
from shared.log import log_context, log_event
from shared.policy import AccessPolicy, stored_refusal
from shared.region_ids import InvalidRegionError, checked_region_id
from shared.updates.cards import (
    FINAL_SUBJECT,
    announce_title,
    change_reply,
    channel_problem_message,
    expiry_note,
    failure_lines,
    final_reply,
    gone_note,
    unlisted_subject,
    watch_card,
)
from shared.updates.model import (
    ENTRY_ABANDONED,
    ENTRY_UNDELIVERABLE,
    KIND_ANNOUNCE,
    KIND_EXPIRED,
    KIND_FINAL,
    KIND_GONE,
    KIND_UNLISTED,
    WATCH_UNDELIVERABLE,
    Lease,
    OutboxEntry,
    Watch,
)
from shared.updates.notifier import (
    RECOVERABLE_PROBLEMS,
    ChannelUnavailable,
    Notifier,
    SlackRejected,
    SlackUnavailable,
)
from shared.updates.storage import UpdatesStorage

STEP_AFTER_CARD = "after_card_update"
STEP_AFTER_POST = "after_post"
STEP_AFTER_RECORD = "after_record"
# A rejected post (a bug on our side, e.g. invalid blocks) is tried this often, then abandoned on record.
MAX_ATTEMPTS = 5

Faults = Callable[[str], None]
# Each account's ECS client by its configured name, the home account (HOME_ACCOUNT_NAME) included; the
# poller's are built by bot.wiring.build under the poller's session.
EcsClients = Callable[[str], EcsClient]


def no_faults(step: str) -> None:
    """Production: nothing is injected between the steps."""


@dataclass(frozen=True)
class OutboxConfig:
    ttl: timedelta
    # Do not start a post with less than this much lease (or tick time) left: room for a card update and
    # a reply at their full timeout.
    margin: timedelta = timedelta(seconds=30)
    # Room for a card update and a reply at the Slack client's full timeout (set by bot.wiring.build).
    min_post_s: float = 10.0
    retry_not_in_channel: timedelta = timedelta(minutes=10)
    retry_rejected: timedelta = timedelta(minutes=5)
    # A row whose watch today's policy refuses waits this long (the poller logs the suspension).
    retry_suspended: timedelta = timedelta(minutes=10)
    policy: AccessPolicy = field(default_factory=AccessPolicy)


@dataclass
class SendReport:
    posted: int = 0
    deferred: int = 0
    undeliverable: int = 0
    abandoned: int = 0
    # Channels not to call again this tick, with what they answered: later rows get the same treatment.
    blocked: dict[str, ChannelUnavailable | SlackUnavailable] = field(default_factory=dict)


class OutboxSender:
    def __init__(
        self,
        store: UpdatesStorage,
        clients: EcsClients,
        notifier: Notifier,
        config: OutboxConfig,
        *,
        clock: Callable[[], datetime],
        faults: Faults = no_faults,
    ) -> None:
        self._store = store
        self._clients = clients
        self._notifier = notifier
        self._config = config
        self._clock = clock
        self._faults = faults

    def deliver(self, lease: Lease, deadline: Deadline) -> SendReport:
        """Post every pending row this poller holds, oldest first per watch, within the tick's time."""
        report = SendReport()
        pending = self._store.outbox.pending(lease.owner)
        for _, rows in groupby(pending, key=lambda d: d.watch.id):
            for row in rows:
                # Another poller holds an earlier change of this watch: keep the order, leave the rest.
                if row.lease_owner != lease.owner:
                    break
                if not self._time_left(lease, deadline):
                    return report
                if not self._deliver_one(row, lease, deadline, report):
                    break
        return report

    def _time_left(self, lease: Lease, deadline: Deadline) -> bool:
        return deadline.remaining() >= self._config.min_post_s and lease.until - self._clock() > self._config.margin

    def _deliver_one(self, row: OutboxEntry, lease: Lease, deadline: Deadline, report: SendReport) -> bool:
        """True when posted (the watch's next change may follow)."""
        watch = row.watch
        with log_context(channel_id=watch.channel_id, watch_id=watch.id, task_id=watch.task_id):
            blocked = report.blocked.get(watch.channel_id)
            if watch.state == WATCH_UNDELIVERABLE:
                # Ended on purpose (the channel is gone): its remaining changes are closed, not posted.
                report.undeliverable += self._store.outbox.close([row.transition_id], lease, state=ENTRY_UNDELIVERABLE)
                return True
            refusal = stored_refusal(
                self._config.policy,
                team_id=watch.team_id,
                channel_id=watch.channel_id,
                region_id=watch.region_id,
                account=watch.account,
            )
            if refusal is not None:
                # Today's policy no longer allows it: nothing is posted (nor ECS asked) while that lasts.
                until = self._clock() + self._config.retry_suspended
                report.deferred += self._store.outbox.defer([row.transition_id], lease, until=until)
                return False
            try:
                if blocked is not None:
                    raise blocked
                posted_ts = self._post(row, deadline)
                self._faults(STEP_AFTER_POST)
                # Recorded at once: see the module docstring for the window this leaves.
                recorded = self._store.outbox.mark_posted(row, lease, posted_ts=posted_ts, now=self._clock())
                self._faults(STEP_AFTER_RECORD)
            except ChannelUnavailable as unavailable:
                report.blocked[watch.channel_id] = unavailable
                self._channel_problem(row, unavailable, lease, report)
                return False
            except SlackUnavailable as unavailable:
                report.blocked[watch.channel_id] = unavailable
                until = self._clock() + timedelta(seconds=unavailable.retry_after_s)
                report.deferred += self._store.outbox.defer([row.transition_id], lease, until=until)
                return False
            except SlackRejected as rejected:
                self._rejected(row, rejected, lease, report)
                return False
            if not recorded:
                log_event("outbox.lease_lost", level=logging.WARNING, transition_id=row.transition_id)
            elif watch.problem is not None:
                self._store.watches.set_problem(watch.id, None)
            report.posted += 1
            log_event("outbox.posted", kind=row.kind, seq=row.seq, status=row.to_status, attempts=row.attempts)
            return True

    def _post(self, row: OutboxEntry, deadline: Deadline) -> str:
        watch, now = row.watch, self._clock()
        if row.kind == KIND_ANNOUNCE:
            subscription = self._store.subscriptions.get(watch.subscription_id) if watch.subscription_id else None
            shown = _with_task(watch, row.task)
            extra = self._failure_lines(row.task, watch.account, deadline)
            card = watch_card([shown], now=now, title=announce_title(subscription, row.task), extra_lines=extra)
            return self._notifier.post(watch.channel_id, card).ts
        card_ts = watch.card_ts
        if card_ts is not None:
            on_card = self._store.watches.on_card(watch.channel_id, card_ts) or [watch]
            title = None
            if watch.subscription_id is not None:
                title = announce_title(self._store.subscriptions.get(watch.subscription_id), watch.task)
            self._notifier.update(watch.channel_id, card_ts, watch_card(on_card, now=now, title=title))
            self._faults(STEP_AFTER_CARD)
        if row.kind == KIND_EXPIRED:
            reply = expiry_note(row.task, ttl=self._config.ttl, region_id=watch.region_id, account=watch.account)
        elif row.kind in (KIND_FINAL, KIND_UNLISTED):
            attribute, error = self._attribute(row.task, watch.account, deadline)
            subject = unlisted_subject(row.task) if row.kind == KIND_UNLISTED else FINAL_SUBJECT
            reply = final_reply(row.task, attribute=attribute, attribute_error=error, now=now, subject=subject)
        elif row.kind == KIND_GONE:
            reply = gone_note(row.task, region_id=watch.region_id)
        else:
            reply = change_reply(row.task, from_status=row.from_status, now=now)
        return self._notifier.post(watch.channel_id, reply, thread_ts=watch.thread_ts or card_ts).ts

    def _failure_lines(self, task: Task, account: str, deadline: Deadline) -> list[str]:
        if task.task_status != TaskStatus.FAILED.value:
            return []
        return failure_lines(*self._attribute(task, account, deadline))

    def _attribute(self, task: Task, account: str, deadline: Deadline) -> tuple[TaskAttribute | None, str | None]:
        """DescribeTaskAttribute for a failed task's error codes; the notice goes out without them if ECS
        cannot answer in time (a final notice is never held back for its details)."""
        if task.task_status != TaskStatus.FAILED.value:
            return None, None
        try:
            # The region comes from a stored snapshot: checked like any value from outside before it is used.
            region_id = checked_region_id(task.region_id)
        except InvalidRegionError:
            return None, "the stored region is not a region id"
        try:
            # In the task's own account (this watch's policy check admitted it before anything was posted).
            return self._clients(account).describe_task_attribute(region_id, task.task_id, deadline=deadline), None
        except StsApiError as error:
            log_event("sts.error", level=logging.WARNING, outcome=error.code, account=error.account)
            return None, f"{error.code}" + (f" (RequestId {error.request_id})" if error.request_id else "")
        except EcsApiError as error:
            log_event("ecs.error", level=logging.WARNING, outcome=error.code, ecs_request_id=error.request_id)
            return None, f"{error.code}" + (f" (RequestId {error.request_id})" if error.request_id else "")

    def _channel_problem(
        self, row: OutboxEntry, unavailable: ChannelUnavailable, lease: Lease, report: SendReport
    ) -> None:
        """Tell the person who set it up, once; keep the watch (bot not invited yet) or end it (channel gone)."""
        watch, now = row.watch, self._clock()
        self._tell_creator_once(watch, unavailable.problem)
        if unavailable.recoverable and row.created_at + self._config.ttl > now:
            self._store.watches.set_problem(watch.id, unavailable.problem)
            until = now + self._config.retry_not_in_channel
            report.deferred += self._store.outbox.defer([row.transition_id], lease, until=until)
            log_event("outbox.deferred", outcome=unavailable.problem, transition_id=row.transition_id)
            return
        if unavailable.recoverable:
            # Still not invited after a whole TTL: give this change up, on record.
            report.abandoned += self._store.outbox.close([row.transition_id], lease, state=ENTRY_ABANDONED)
            log_event("outbox.abandoned", level=logging.WARNING, outcome=unavailable.problem)
            return
        self._store.watches.end_undeliverable(watch.id, unavailable.problem, now=now)
        report.undeliverable += self._store.outbox.close([row.transition_id], lease, state=ENTRY_UNDELIVERABLE)
        log_event("watch.undeliverable", level=logging.WARNING, outcome=unavailable.problem)

    def _tell_creator_once(self, watch: Watch, problem: str) -> None:
        if not self._store.claim_channel_notice(problem, watch.channel_id, watch.user_id, now=self._clock()):
            return
        kept = problem in RECOVERABLE_PROBLEMS
        message = channel_problem_message(watch.channel_id, problem, task_ids=[watch.task_id], kept=kept)
        try:
            self._notifier.direct_message(watch.user_id, message)
        except (ChannelUnavailable, SlackUnavailable, SlackRejected) as error:
            # Logged, not retried: the watch's own state records what happened to it.
            log_event("notice.failed", level=logging.WARNING, outcome=type(error).__name__, user_id=watch.user_id)
        self._store.complete_channel_notice(problem, watch.channel_id, watch.user_id)
        log_event("notice.sent", outcome=problem, user_id=watch.user_id)

    def _rejected(self, row: OutboxEntry, rejected: SlackRejected, lease: Lease, report: SendReport) -> None:
        log_event("outbox.rejected", level=logging.ERROR, outcome=rejected.error, attempts=row.attempts)
        if row.attempts >= MAX_ATTEMPTS:
            report.abandoned += self._store.outbox.close([row.transition_id], lease, state=ENTRY_ABANDONED)
            return
        until = self._clock() + self._config.retry_rejected
        report.deferred += self._store.outbox.defer([row.transition_id], lease, until=until)


def _with_task(watch: Watch, task: Task) -> Watch:
    return replace(watch, task=task)
