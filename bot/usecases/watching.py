"""The work behind `/ecs-tasks watch | unwatch` and the Watch and Unwatch buttons, run by
`bot.usecases.channels` (inline or deferred). Each function returns its `Replies` (`bot.usecases.work`).

A watch's card is posted before its rows are stored (the rows are written by the post's `then`), so a
channel the bot cannot post in never gets a watch that could not be delivered: the user is told how to fix
it instead (`/invite @ecs-tasks`). A card is drawn again from its stored watches when some of its tasks
turn out not to be watched: unwatched, or refused by the cap when their rows were stored.

Accounts: a watch works in the channel's accounts, or the one named (`bot.usecases.task_lookup`). `watch`
without one looks the task up in each (a task found in two is not guessed: the user is asked to name the
account); `unwatch` without one stops the task's watches in every account.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.usecases.channel_limits import NOT_WATCHED, rate_refused, watch_limit_refused, watches_full
from bot.usecases.task_lookup import Lookup, accounts_for, find_in_accounts, in_accounts, of_account
from bot.usecases.where import Where
from bot.usecases.work import ChannelPost, ChannelUpdate, Ephemeral, Replies, Reply
from bot.wiring.deps import BotDeps
from shared.cards.layout import plural
from shared.cards.task_cards import notice_message
from shared.ecs.accounts import HOME_ACCOUNT_NAME, Account
from shared.ecs.models import Task
from shared.updates.cards import watch_card
from shared.updates.model import WATCH_ACTIVE, NewWatch, Watch, is_terminal, origin_of


def watch_tasks(
    deps: BotDeps,
    where: Where,
    region: str,
    ids: Sequence[str],
    account: str | None = None,
) -> Replies:
    """Watch these tasks in `account` (a name the user gave), or None: in whichever of the channel's
    accounts knows each one."""
    store = deps.store()
    refused = rate_refused(deps, where)
    if refused:
        return refused
    accounts, why_none = accounts_for(deps, where, account, region=region)
    if not accounts:
        return why_none
    # One card per task per channel: a task this channel follows already (watched, or found by one of its
    # subscriptions) is answered with the card it has.
    followed = store.watches.live_in_channel(where.channel_id, region, ids, accounts=[a.name for a in accounts])
    known = {w.task_id for w in followed if w.card_ts}
    wanted = [task_id for task_id in dict.fromkeys(ids) if task_id not in known]
    refused = watch_limit_refused(deps, where, len(wanted)) if wanted else ()
    if refused:
        return refused
    replies: list[Reply] = []
    if followed and known:
        shown_cards = [w for w in followed if w.task_id in known]
        names = ", ".join(f"`{w.task_id}`" for w in shown_cards)
        replies.append(Ephemeral(watch_card(shown_cards, now=deps.clock(), title=f"Already followed here: {names}")))
    lookup = find_in_accounts(deps, where, region, wanted, accounts) if wanted else Lookup()
    found = lookup.found
    # "Not found" only from accounts that answered (one whose role could not be assumed has its own note).
    answering_accounts = [a for a in accounts if a.name not in lookup.failed]
    searched = in_accounts(answering_accounts, configured=deps.accounts.configured)
    missing = [t for t in wanted if t not in lookup.answered] if answering_accounts else []
    notes = [f"`{t}` was not found in {region}{searched}." for t in missing]
    notes += lookup.notes
    notes += [
        f"`{t.task_id}` already ended ({t.task_status}): nothing to watch."
        for _, t in found
        if is_terminal(t.task_status)
    ]
    running = [(a, t) for a, t in found if not is_terminal(t.task_status)]
    if not running:
        if notes or not known:
            replies.append(Ephemeral(notice_message("\n".join(notes) or "Nothing to watch.")))
        return tuple(replies)
    now = deps.clock()
    shown = [_provisional(where, t, now, deps.settings.watch_ttl, account=a.name) for a, t in running]
    card = watch_card(shown, now=now, title=f"Watching {plural(len(running), 'task')} in {region}")

    def store_watches(posted: str) -> Replies:
        from shared.store.watch_store import FULL  # SQLAlchemy comes with the store, when a watch is stored

        thread_ts = where.anchor_ts or posted
        stored: list[tuple[Account, Task]] = []
        for found_in, task in running:
            new = NewWatch(
                where.team_id,
                where.channel_id,
                where.user_id,
                region,
                task,
                card_ts=posted,
                thread_ts=thread_ts,
                account=found_in.name,
            )
            # The limit again, counted and added in one step: another instance may have added since the check.
            limit = deps.settings.max_watches_per_channel
            if store.watches.add(new, now=now, ttl=deps.settings.watch_ttl, limit=limit)[1] != FULL:
                stored.append((found_in, task))
        if len(stored) < len(running):
            full = watches_full(deps, where)
            # The card was drawn before the rows were stored: it now shows only what is watched.
            redrawn = redrawn_cards(deps, where.channel_id, {posted}) or (
                ChannelUpdate(where.channel_id, posted, notice_message(NOT_WATCHED)),
            )
            return (*redrawn, *full, *(_watching(stored) if stored else ()))
        return _watching(running)

    def _watching(watched: list[tuple[Account, Task]]) -> Replies:
        names = ", ".join(f"`{t.task_id}`{of_account(a, configured=deps.accounts.configured)}" for a, t in watched)
        lines = [f":eyes: Watching {names} in <#{where.channel_id}>: changes are posted in the card's thread.", *notes]
        return (Ephemeral(notice_message("\n".join(lines))),)

    replies.append(ChannelPost(where.channel_id, card, store_watches, thread_ts=where.anchor_ts))
    return tuple(replies)


def unwatch_tasks(
    deps: BotDeps, where: Where, *, region: str | None, task_ids: Sequence[str], account: str | None
) -> Replies:
    """Stop the channel's watches of these tasks (in `region` and `account`, None: any); their cards are
    redrawn."""
    store = deps.store()
    refused = rate_refused(deps, where)
    if refused:
        return refused
    chosen = [
        w
        for w in store.watches.for_channel(where.channel_id)
        if w.task_id in task_ids
        and (region is None or w.region_id == region)
        and (account is None or w.account == account)
    ]
    store.watches.stop(where.channel_id, [w.id for w in chosen])
    redrawn = redrawn_cards(deps, where.channel_id, {w.card_ts for w in chosen if w.card_ts})
    if chosen:
        names = ", ".join(f"`{w.task_id}`" for w in chosen)
        text = f"Stopped watching {names} in <#{where.channel_id}>."
    else:
        text = "None of these tasks is watched in this channel. `/ecs-tasks list` shows what is."
    return (*redrawn, Ephemeral(notice_message(text)))


def redrawn_cards(deps: BotDeps, channel_id: str, card_ts: set[str]) -> Replies:
    """The cards, drawn again from their watches (a card that failed to redraw keeps its old look; the
    watch is stopped all the same)."""
    updates: list[Reply] = []
    for ts in sorted(card_ts):
        on_card = deps.store().watches.on_card(channel_id, ts)
        if on_card:
            updates.append(ChannelUpdate(channel_id, ts, watch_card(on_card, now=deps.clock())))
    return tuple(updates)


def _provisional(where: Where, task: Task, now: datetime, ttl: timedelta, *, account: str = HOME_ACCOUNT_NAME) -> Watch:
    """The watch as it will be stored, to draw its card before the rows exist."""
    return Watch(
        id=0,
        team_id=where.team_id,
        channel_id=where.channel_id,
        user_id=where.user_id,
        region_id=task.region_id or "",
        task_id=task.task_id,
        origin=origin_of(None),
        subscription_id=None,
        task=task,
        last_status=task.task_status,
        card_ts=None,
        thread_ts=None,
        state=WATCH_ACTIVE,
        problem=None,
        created_at=now,
        expires_at=now + ttl,
        account=account,
    )
