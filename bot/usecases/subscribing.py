"""The work behind `/ecs-tasks subscribe | unsubscribe` and the list's Unsubscribe button, run by
`bot.usecases.channels` (inline or deferred). Each function returns its `Replies` (`bot.usecases.work`).

A subscription's notice is posted before its rows are stored (the rows are written by the post's `then`), so
a channel the bot cannot post in never gets a subscription that could not deliver.

Accounts: a subscription works in the channel's accounts, or the one named (`bot.usecases.task_lookup`).
`subscribe` without one subscribes in each, one subscription per account, and says so; `unsubscribe` without
one removes the channel's subscriptions in every account.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.language.grammar import SubscribeCommand, UnsubscribeCommand
from bot.usecases.channel_limits import NOT_SUBSCRIBED, rate_refused, subscription_limit_refused, subscriptions_full
from bot.usecases.task_lookup import accounts_for
from bot.usecases.where import Where
from bot.usecases.work import ChannelPost, ChannelUpdate, Ephemeral, Replies
from bot.wiring.deps import BotDeps
from shared.cards.task_cards import notice_message
from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.ecs.query import ALL_REGIONS
from shared.updates.cards import describe_subscription
from shared.updates.model import Subscription


def subscribe(deps: BotDeps, where: Where, command: SubscribeCommand) -> Replies:
    """Subscribe the channel to new tasks in these regions, in each of its accounts that covers one (or the
    account named); a subscription the channel has already is not added again."""
    store = deps.store()
    refused = rate_refused(deps, where)
    if refused:
        return refused
    status = command.status.value if command.status else None
    action = command.action.value if command.action else None
    regions = (ALL_REGIONS,) if ALL_REGIONS in command.regions else command.regions
    # Without a named account: one subscription in each of the channel's accounts (the reply names them).
    accounts, why_none = accounts_for(deps, where, command.account)
    if not accounts:
        return why_none
    existing = {
        (s.account, s.region_id)
        for s in store.subscriptions.for_channel(where.channel_id)
        if s.status == status and s.action == action
    }
    wanted = [(a, r) for a in accounts for r in regions if a.covers(r) or r == ALL_REGIONS]
    new = [(a, r) for a, r in wanted if (a.name, r) not in existing]
    if not new:
        text = "This channel already has that subscription (`/ecs-tasks list`)."
        if not wanted:
            text = "None of this channel's accounts covers these regions (`/ecs-tasks list` shows what it has)."
        return (Ephemeral(notice_message(text)),)
    refused = subscription_limit_refused(deps, where, len(new))
    if refused:
        return refused
    show = deps.accounts.configured
    now = deps.clock()
    described = [
        describe_subscription(_draft(where, r, status, action, now, account=a.name), show_account=show) for a, r in new
    ]
    text = (
        f":bell: <@{where.user_id}> subscribed this channel to new tasks: "
        + "; ".join(described)
        + (" (one subscription per account)" if show and command.account is None and len(accounts) > 1 else "")
        + ". Each new task gets a post here, then updates in its thread. Stop with `/ecs-tasks unsubscribe`."
    )

    def store_subscriptions(posted: str) -> Replies:
        refused = 0
        for account, region in new:
            # The limit again, counted and added in one step: another instance may have added since the check.
            added = store.subscriptions.add_within(
                deps.settings.max_subscriptions_per_channel,
                team_id=where.team_id,
                channel_id=where.channel_id,
                user_id=where.user_id,
                region_id=region,
                status=status,
                action=action,
                now=deps.clock(),
                account=account.name,
            )
            refused += added is None
        if not refused:
            return ()
        full = subscriptions_full(deps, where)
        if refused < len(new):
            return full  # the post names every one asked for; the refusal says how many did not fit
        return (ChannelUpdate(where.channel_id, posted, notice_message(NOT_SUBSCRIBED)), *full)

    # Posted first: if the bot cannot post here, no subscription is left that could never deliver.
    return (ChannelPost(where.channel_id, notice_message(text), store_subscriptions),)


def unsubscribe(deps: BotDeps, where: Where, command: UnsubscribeCommand) -> Replies:
    """Remove the channel's subscriptions in these regions and this account (either None: any)."""
    store = deps.store()
    refused = rate_refused(deps, where)
    if refused:
        return refused
    chosen = [
        s
        for s in store.subscriptions.for_channel(where.channel_id)
        if (command.regions is None or s.region_id in command.regions)
        and (command.account is None or s.account == command.account)
    ]
    removed = remove_subscriptions(deps, where.channel_id, [s.id for s in chosen])
    if removed:
        show = deps.accounts.configured
        text = "Unsubscribed: " + "; ".join(describe_subscription(s, show_account=show) for s in removed) + "."
    else:
        text = "This channel has no such subscription. `/ecs-tasks list` shows what it has."
    return (Ephemeral(notice_message(text)),)


def remove_subscriptions(deps: BotDeps, channel_id: str, ids: Sequence[int]) -> list[Subscription]:
    """The channel's subscriptions of these ids, removed, with the watches they started stopped."""
    store = deps.store()
    removed = store.subscriptions.remove(channel_id, ids)
    store.watches.stop_followups([s.id for s in removed])
    return removed


def _draft(
    where: Where,
    region: str,
    status: str | None,
    action: str | None,
    now: datetime,
    *,
    account: str = HOME_ACCOUNT_NAME,
) -> Subscription:
    """The subscription as it will be stored, to word it before its row exists."""
    return Subscription(0, where.team_id, where.channel_id, where.user_id, region, status, action, now, account=account)
