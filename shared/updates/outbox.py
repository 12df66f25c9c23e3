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

What each of Slack's failures does to a row is decided by its class in `shared.updates.slack_answers`
(transient: later, never given up; configuration: the whole outbox holds; channel: the channel's watches and
subscriptions end; membership: the watch pauses, for a day at most; message: plain text instead). Changes a
watch held longer than `summarise_after` are posted as one reply with its current state, recorded together.
A card someone deleted is replaced by a new one before the reply: a crash between posting the new card and
recording it (one UPDATE) leaves the old card recorded, and the next attempt posts another new card.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import groupby

from shared.cards.task_cards import Message
from shared.ecs.client import EcsClient
from shared.ecs.models import Task, TaskAttribute
from shared.ecs.query import TaskStatus
from shared.ecs.retry import Deadline
from shared.errors import EcsApiError, StsApiError
from shared.log import log_context, log_event
from shared.policy import AccessPolicy, stored_refusal
from shared.region_ids import InvalidRegionError, checked_region_id
from shared.timefmt import format_duration
from shared.updates.cards import (
    FINAL_SUBJECT,
    announce_title,
    change_reply,
    channel_problem_message,
    expiry_note,
    failure_lines,
    final_reply,
    gone_note,
    plain_fallback,
    unlisted_subject,
    watch_card,
    while_paused,
)
from shared.updates.model import (
    ENTRY_ABANDONED,
    ENTRY_UNDELIVERABLE,
    KIND_ANNOUNCE,
    KIND_CHANGE,
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
    ChannelUnavailable,
    Notifier,
    Posted,
    SlackMisconfigured,
    SlackRejected,
    SlackUnavailable,
)
from shared.updates.slack_answers import backoff_s
from shared.updates.storage import UpdatesStorage

STEP_AFTER_CARD = "after_card_update"
STEP_AFTER_POST = "after_post"
STEP_AFTER_RECORD = "after_record"
# A post Slack refuses even as plain text (a bug on our side) is tried this often, then abandoned on record.
MAX_ATTEMPTS = 5
# Slack takes one chat.postMessage per second per channel, "short bursts allowed" (its rate-limits page):
# posts to one channel come at most this often on average, after a burst of POST_BURST.
POST_SPACING_S = 1.0
POST_BURST = 3
# The kinds a summary after a hold may sum up: status changes, the last of them possibly the final one.
FOLDABLE = frozenset({KIND_CHANGE, KIND_FINAL, KIND_UNLISTED, KIND_GONE})

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
    # A paused watch (the bot is not in the channel, or may not post there) is tried again this often, and
    # ends when posting has failed for `paused_for`.
    retry_not_in_channel: timedelta = timedelta(minutes=10)
    paused_for: timedelta = timedelta(hours=24)
    retry_rejected: timedelta = timedelta(minutes=5)
    # While the token is refused, nothing is sent until this much later (one try, and one error line, a tick).
    retry_misconfigured: timedelta = timedelta(seconds=55)
    # Changes of one watch waiting longer than this are posted as one summary.
    summarise_after: timedelta = timedelta(minutes=5)
    # A row whose watch today's policy refuses waits this long (the poller logs the suspension).
    retry_suspended: timedelta = timedelta(minutes=10)
    policy: AccessPolicy = field(default_factory=AccessPolicy)


@dataclass
class SendReport:
    posted: int = 0
    deferred: int = 0
    undeliverable: int = 0
    abandoned: int = 0
    # Slack refused the token (the whole outbox holds): its answer.
    held: str | None = None
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
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._clients = clients
        self._notifier = notifier
        self._config = config
        # Today's policy: the poller hands each tick's in, the events function each event's (bindings made in
        # Slack change it between them).
        self.policy = config.policy
        self._clock = clock
        self._faults = faults
        self._monotonic = monotonic
        self._sleep = sleep
        # Each channel's posting allowance (a token bucket: tokens, and when they were counted, monotonic).
        self._allowance: dict[str, tuple[float, float]] = {}
        # Slack refused the token: nothing is sent before this time.
        self._held_until: datetime | None = None

    def deliver(self, lease: Lease, deadline: Deadline) -> SendReport:
        """Post every pending row this poller holds, oldest first per watch, within the tick's time."""
        report = SendReport()
        if self._held_until is not None and self._clock() < self._held_until:
            return report
        pending = self._store.outbox.pending(lease.owner)
        if not pending and self._store.hold.current() is not None:
            # Nothing waits on Slack any more (the held rows were posted by another poller, or closed): a
            # hold kept now would only tell users of a pause that holds nothing back.
            self._store.hold.release()
        for _, grouped in groupby(pending, key=lambda d: d.watch.id):
            rows = list(grouped)
            index = 0
            while index < len(rows):
                # Another poller holds an earlier change of this watch: keep the order, leave the rest.
                if rows[index].lease_owner != lease.owner:
                    break
                if not self._time_left(lease, deadline):
                    return report
                run = self._foldable_run(rows[index:], lease)
                posted = self._deliver_one(run[-1], lease, deadline, report, folded=run[:-1])
                if report.held is not None:
                    return report
                if not posted:
                    break
                index += len(run)
        if report.posted:
            # Slack takes posts again: whatever held the outbox is over.
            self._store.hold.release()
        return report

    def _foldable_run(self, rows: Sequence[OutboxEntry], lease: Lease) -> list[OutboxEntry]:
        """The rows to post as one: a watch's status changes held past `summarise_after` are summed up (its
        current state, and what happened meanwhile); otherwise the first row alone."""
        first = rows[0]
        if first.kind not in FOLDABLE or first.created_at + self._config.summarise_after > self._clock():
            return [first]
        run = [first]
        for row in rows[1:]:
            if run[-1].kind != KIND_CHANGE or row.kind not in FOLDABLE or row.lease_owner != lease.owner:
                break
            run.append(row)
        return run

    def _time_left(self, lease: Lease, deadline: Deadline) -> bool:
        return deadline.remaining() >= self._config.min_post_s and lease.until - self._clock() > self._config.margin

    def _deliver_one(
        self, row: OutboxEntry, lease: Lease, deadline: Deadline, report: SendReport, *, folded: list[OutboxEntry]
    ) -> bool:
        """True when posted (the watch's next change may follow). `folded`: earlier rows this post sums up."""
        watch = row.watch
        ids = [row.transition_id, *(f.transition_id for f in folded)]
        with log_context(channel_id=watch.channel_id, watch_id=watch.id, task_id=watch.task_id):
            blocked = report.blocked.get(watch.channel_id)
            if watch.state == WATCH_UNDELIVERABLE:
                # Ended on purpose (the channel is gone): its remaining changes are closed, not posted.
                report.undeliverable += self._store.outbox.close(ids, lease, state=ENTRY_UNDELIVERABLE)
                return True
            refusal = stored_refusal(
                self.policy,
                team_id=watch.team_id,
                channel_id=watch.channel_id,
                region_id=watch.region_id,
                account=watch.account,
            )
            if refusal is not None:
                # Today's policy no longer allows it: nothing is posted (nor ECS asked) while that lasts.
                until = self._clock() + self._config.retry_suspended
                report.deferred += self._store.outbox.defer(ids, lease, until=until)
                return False
            try:
                if blocked is not None:
                    raise blocked
                posted_ts = self._post(row, deadline, folded)
                self._faults(STEP_AFTER_POST)
                # Recorded at once: see the module docstring for the window this leaves.
                recorded = self._store.outbox.mark_posted(
                    row, lease, posted_ts=posted_ts, now=self._clock(), folded=ids[1:]
                )
                self._faults(STEP_AFTER_RECORD)
            except ChannelUnavailable as unavailable:
                report.blocked[watch.channel_id] = unavailable
                self._channel_problem(row, folded[0] if folded else row, ids, unavailable, lease, report)
                return False
            except SlackMisconfigured as misconfigured:
                # Nothing can be posted anywhere: every row stays pending, untouched, until the token works.
                self._held_until = self._clock() + self._config.retry_misconfigured
                self._store.hold.hold(misconfigured.reason, now=self._clock())
                report.held = misconfigured.reason
                log_event("outbox.held", level=logging.ERROR, outcome=misconfigured.reason)
                return False
            except SlackUnavailable as unavailable:
                report.blocked[watch.channel_id] = unavailable
                wait = unavailable.retry_after_s
                if wait is None:
                    wait = backoff_s(row.attempts)
                until = self._clock() + timedelta(seconds=wait)
                report.deferred += self._store.outbox.defer(ids, lease, until=until)
                log_event("outbox.deferred", outcome=unavailable.reason, retry_after_s=wait)
                return False
            except SlackRejected as rejected:
                self._rejected(row, ids, rejected, lease, report)
                return False
            if not recorded:
                log_event("outbox.lease_lost", level=logging.WARNING, transition_id=row.transition_id)
            elif watch.problem is not None:
                self._store.watches.set_problem(watch.id, None)
            report.posted += len(ids)
            log_event(
                "outbox.posted",
                kind=row.kind,
                seq=row.seq,
                status=row.to_status,
                attempts=row.attempts,
                folded=len(folded),
            )
            return True

    def _post(self, row: OutboxEntry, deadline: Deadline, folded: Sequence[OutboxEntry] = ()) -> str:
        watch, now = row.watch, self._clock()
        if row.kind == KIND_ANNOUNCE:
            subscription = self._store.subscriptions.get(watch.subscription_id) if watch.subscription_id else None
            shown = _with_task(watch, row.task)
            extra = self._failure_lines(row.task, watch.account, deadline)
            card = watch_card([shown], now=now, title=announce_title(subscription, row.task), extra_lines=extra)
            return self._send(watch.channel_id, card).ts
        card_ts = watch.card_ts
        if card_ts is not None:
            on_card = self._store.watches.on_card(watch.channel_id, card_ts) or [watch]
            title = None
            if watch.subscription_id is not None:
                title = announce_title(self._store.subscriptions.get(watch.subscription_id), watch.task)
            card = watch_card(on_card, now=now, title=title)
            if not self._update_card(watch.channel_id, card_ts, card):
                # Someone deleted the card: a reply to it would show nowhere. A new card carries every watch
                # that was on it, and this reply and later ones go to its thread.
                new_ts = self._send(watch.channel_id, card).ts
                moved = self._store.watches.move_card(watch.channel_id, card_ts, new_ts)
                log_event("outbox.card_replaced", card_ts=new_ts, outcome=f"{moved} watches")
                card_ts = new_ts
                watch = replace(watch, card_ts=new_ts, thread_ts=new_ts)
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
            first_from = folded[0].from_status if folded else row.from_status
            reply = change_reply(row.task, from_status=first_from, now=now)
        if folded:
            reply = while_paused(reply, from_status=folded[0].from_status, to_status=row.to_status)
        return self._send(watch.channel_id, reply, thread_ts=watch.thread_ts or card_ts).ts

    def _update_card(self, channel_id: str, card_ts: str, card: Message) -> bool:
        """chat.update; a card Slack refuses (its blocks) is updated as plain text, and one it will not edit at all
        (e.g. `edit_window_closed`) keeps its old look: the reply still goes out. False if the card is gone."""
        try:
            return self._notifier.update(channel_id, card_ts, card)
        except SlackRejected as rejected:
            log_event("outbox.card_rejected", level=logging.ERROR, outcome=rejected.error)
        try:
            return self._notifier.update(channel_id, card_ts, plain_fallback(card))
        except SlackRejected as rejected:
            log_event("outbox.card_not_updated", level=logging.ERROR, outcome=rejected.error)
            return True

    def _send(self, channel_id: str, message: Message, *, thread_ts: str | None = None) -> Posted:
        """chat.postMessage, spaced per channel; a message Slack refuses (too long, bad blocks) goes out as plain
        text instead, so the change is not lost."""
        try:
            return self._paced_post(channel_id, message, thread_ts)
        except SlackRejected as rejected:
            log_event("outbox.message_rejected", level=logging.ERROR, outcome=rejected.error)
            return self._paced_post(channel_id, plain_fallback(message), thread_ts)

    def _paced_post(self, channel_id: str, message: Message, thread_ts: str | None) -> Posted:
        self._pace(channel_id)
        return self._notifier.post(channel_id, message, thread_ts=thread_ts)

    def _pace(self, channel_id: str) -> None:
        """Wait, if need be, until the channel may take another post (its own clock: the tick's sleep)."""
        now = self._monotonic()
        tokens, counted_at = self._allowance.get(channel_id, (float(POST_BURST), now))
        tokens = min(float(POST_BURST), tokens + (now - counted_at) / POST_SPACING_S)
        if tokens < 1.0:
            self._sleep((1.0 - tokens) * POST_SPACING_S)
            now, tokens = self._monotonic(), 1.0
        self._allowance[channel_id] = (tokens - 1.0, now)

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
        self,
        row: OutboxEntry,
        oldest: OutboxEntry,
        ids: list[int],
        unavailable: ChannelUnavailable,
        lease: Lease,
        report: SendReport,
    ) -> None:
        """Membership (not invited, private, restricted): pause the watch and tell its creator once; end it
        when its oldest waiting change has waited `paused_for`. Channel (archived): end its watches and
        subscriptions."""
        watch, now = row.watch, self._clock()
        if unavailable.recoverable and oldest.created_at + self._config.paused_for > now:
            self._tell_creator_once(watch, unavailable.problem, kept=True)
            self._store.watches.set_problem(watch.id, unavailable.problem)
            until = now + self._config.retry_not_in_channel
            report.deferred += self._store.outbox.defer(ids, lease, until=until)
            log_event("outbox.paused", outcome=unavailable.problem, transition_id=row.transition_id)
            return
        if unavailable.recoverable:
            # Paused a whole day and still refused: the watch ends, and its creator is told so.
            self._tell_creator_once(watch, unavailable.problem, kept=False, gave_up=True)
            self._store.watches.end_undeliverable(watch.id, unavailable.problem, now=now)
            report.undeliverable += self._store.outbox.close(ids, lease, state=ENTRY_UNDELIVERABLE)
            log_event("watch.undeliverable", level=logging.WARNING, outcome=unavailable.problem)
            return
        self._tell_creator_once(watch, unavailable.problem, kept=False)
        ended = self._store.watches.end_channel(watch.channel_id, unavailable.problem, now=now)
        subscriptions = self._store.subscriptions.for_channel(watch.channel_id)
        removed = self._store.subscriptions.remove(watch.channel_id, [s.id for s in subscriptions])
        if ended or removed:
            log_event(
                "channel.ended",
                level=logging.WARNING,
                outcome=unavailable.problem,
                watches=ended,
                subscriptions=len(removed),
            )
        report.undeliverable += self._store.outbox.close(ids, lease, state=ENTRY_UNDELIVERABLE)

    def _tell_creator_once(self, watch: Watch, problem: str, *, kept: bool, gave_up: bool = False) -> None:
        notice = f"{problem}:ended" if gave_up else problem
        if not self._store.claim_channel_notice(notice, watch.channel_id, watch.user_id, now=self._clock()):
            return
        after = format_duration(self._config.paused_for) if gave_up else None
        message = channel_problem_message(
            watch.channel_id, problem, task_ids=[watch.task_id], kept=kept, gave_up_after=after
        )
        try:
            self._notifier.direct_message(watch.user_id, message)
        except (ChannelUnavailable, SlackUnavailable, SlackRejected) as error:
            # Logged, not retried: the watch's own state records what happened to it.
            log_event("notice.failed", level=logging.WARNING, outcome=type(error).__name__, user_id=watch.user_id)
        self._store.complete_channel_notice(notice, watch.channel_id, watch.user_id)
        log_event("notice.sent", outcome=notice, user_id=watch.user_id)

    def _rejected(
        self, row: OutboxEntry, ids: list[int], rejected: SlackRejected, lease: Lease, report: SendReport
    ) -> None:
        """Refused even as plain text: a bug on our side, tried a few times, then given up on record."""
        log_event("outbox.rejected", level=logging.ERROR, outcome=rejected.error, attempts=row.attempts)
        if row.attempts >= MAX_ATTEMPTS:
            report.abandoned += self._store.outbox.close(ids, lease, state=ENTRY_ABANDONED)
            return
        until = self._clock() + self._config.retry_rejected
        report.deferred += self._store.outbox.defer(ids, lease, until=until)


def _with_task(watch: Watch, task: Task) -> Watch:
    return replace(watch, task=task)
