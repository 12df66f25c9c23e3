"""Channel bindings made in Slack, for admins (ECS_TASKS_ADMIN_USER_IDS): `bind`, `unbind`, `bindings`.

A channel's binding made in Slack replaces its configured one (ECS_TASKS_CHANNEL_ACCOUNTS, else
ECS_TASKS_DEFAULT_ACCOUNTS); unbinding all of it returns the channel to the configured one. Bindings live in
the store; commands see them through the policy holder (within its staleness, 30 s), the poller from its next
tick. Each change is logged and posted in the channel. `unbind` suspends the channel's watches and
subscriptions in each account the channel no longer works in, as the poller does (`account_not_bound`), and
says how many; binding the account again lets the poller resume them.
"""

from __future__ import annotations

import difflib

from bot.usecases.channels import store_work
from bot.usecases.doctor import NOT_AN_ADMIN, is_admin
from bot.usecases.where import NOT_IN_CHANNEL
from bot.usecases.work import ChannelPost, Ephemeral, Replies, Work
from bot.wiring.deps import BotDeps
from shared.cards.task_cards import Message, notice_message
from shared.config import MAX_ACCOUNTS_PER_BINDING
from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.log import log_event
from shared.policy import ACCOUNT_NOT_BOUND

NEEDS_DATABASE = (
    ":information_source: Bindings made in Slack need a database, and this deployment has none: set "
    "ECS_TASKS_DATABASE_URL, or bind channels in ECS_TASKS_CHANNEL_ACCOUNTS."
)
NO_ACCOUNTS = (
    ":information_source: No accounts are configured (ECS_TASKS_ACCOUNTS): every channel works in the "
    "function's own account, so there is nothing to bind."
)


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{name}`" for name in names) or "none"


def configured_binding(deps: BotDeps, channel_id: str) -> tuple[str, ...]:
    """The channel's binding in the settings (empty: the function's own account)."""
    return deps.settings.channel_accounts.get(channel_id) or deps.settings.default_accounts


def _refusal(deps: BotDeps, command: str, user_id: str | None, channel_id: str | None) -> Message | None:
    if not is_admin(deps, user_id):
        return notice_message(NOT_AN_ADMIN.format(command=command))
    if deps.settings.database_url is None:
        return notice_message(NEEDS_DATABASE)
    if not channel_id:
        return notice_message(NOT_IN_CHANNEL)
    if not deps.accounts.configured:
        return notice_message(NO_ACCOUNTS)
    return None


def _unknown(deps: BotDeps, names: tuple[str, ...]) -> Message | None:
    known = sorted(deps.accounts.accounts)
    unknown = [name for name in names if name not in deps.accounts.accounts]
    if not unknown:
        return None
    name = unknown[0]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return notice_message(
        f":warning: `{name[:24]}` is not a configured account.{hint} Configured accounts: {_names(tuple(known))}."
    )


def bind_work(deps: BotDeps, names: tuple[str, ...], user_id: str | None, channel_id: str | None) -> Message | Work:
    """`bind NAME...`: the accounts join the channel's binding made in Slack (created if it has none)."""
    refused = _refusal(deps, "bind", user_id, channel_id) or _unknown(deps, names)
    if refused is not None:
        return refused
    assert user_id is not None and channel_id is not None  # checked by _refusal
    admin, channel = user_id, channel_id

    def job() -> Replies:
        store = deps.store()
        held = store.bindings.get(channel)
        bound = tuple(dict.fromkeys((*(held.accounts if held else ()), *names)))
        if len(bound) > MAX_ACCOUNTS_PER_BINDING:
            return _say(
                f":warning: A channel may be bound to at most {MAX_ACCOUNTS_PER_BINDING} accounts; this would "
                f"make {len(bound)}. Unbind some first (`/ecs-tasks unbind NAME`)."
            )
        store.bindings.put(channel, bound, by=admin, now=deps.clock())
        log_event("bindings.bind", channel_id=channel, user_id=admin, accounts=",".join(bound))
        base = configured_binding(deps, channel)
        text = (
            f":link: <@{admin}> bound this channel to {_names(bound)} in Slack, in place of its configured "
            f"accounts ({_names(base) if base else HOME_ACCOUNT_NAME}). Commands see it within 30 seconds."
        )
        return _posted(channel, text)

    return store_work("bind this channel", job)


def unbind_work(deps: BotDeps, names: tuple[str, ...], user_id: str | None, channel_id: str | None) -> Message | Work:
    """`unbind NAME...`: the accounts leave the channel's binding made in Slack; with none left, the channel
    returns to its configured binding. The channel's watches and subscriptions in an account it no longer
    works in are suspended."""
    refused = _refusal(deps, "unbind", user_id, channel_id)
    if refused is not None:
        return refused
    assert user_id is not None and channel_id is not None
    admin, channel = user_id, channel_id

    def job() -> Replies:
        store = deps.store()
        held = store.bindings.get(channel)
        bound = held.accounts if held else ()
        base = configured_binding(deps, channel)
        missing = [name for name in names if name not in bound]
        if missing:
            return _say(
                f":warning: `{missing[0][:24]}` is not bound to this channel in Slack. Bound in Slack: "
                f"{_names(bound)}; configured: {_names(base) if base else HOME_ACCOUNT_NAME} (change those in "
                "the settings, or replace them with `/ecs-tasks bind`)."
            )
        left = tuple(name for name in bound if name not in names)
        store.bindings.put(channel, left, by=admin, now=deps.clock())
        in_force = left or base or (HOME_ACCOUNT_NAME,)
        dropped = [name for name in names if name not in in_force]
        suspended = _suspend(deps, channel, dropped)
        log_event("bindings.unbind", channel_id=channel, user_id=admin, accounts=",".join(names), suspended=suspended)
        now = f"bound in Slack to {_names(left)}" if left else f"back to its configured accounts ({_names(in_force)})"
        text = f":link: <@{admin}> unbound {_names(names)} from this channel: it is now {now}."
        if dropped:
            text += f" Suspended {suspended} of its watches and subscriptions in {_names(tuple(dropped))}."
        return _posted(channel, text)

    return store_work("unbind this channel", job)


def bindings_work(deps: BotDeps, user_id: str | None, channel_id: str | None) -> Message | Work:
    """`bindings`: the channel's configured binding, the one made in Slack, and which is in force."""
    refused = _refusal(deps, "bindings", user_id, channel_id)
    if refused is not None:
        return refused
    assert channel_id is not None
    channel = channel_id

    def job() -> Replies:
        held = deps.store().bindings.get(channel)
        base = configured_binding(deps, channel)
        configured = _names(base) if base else f"none (`{HOME_ACCOUNT_NAME}`)"
        lines = [f"*Configured:* {configured}"]
        if held is None:
            lines += ["*Made in Slack:* none", "*In force:* the configured binding"]
        else:
            lines += [
                f"*Made in Slack:* {_names(held.accounts)} (by <@{held.updated_by}>)",
                "*In force:* the binding made in Slack (commands see a change within 30 seconds)",
            ]
        return (Ephemeral(notice_message("\n".join(lines)), follow_up=True),)

    return store_work("read this channel's bindings", job)


def _suspend(deps: BotDeps, channel_id: str, accounts: list[str]) -> int:
    """Suspends the channel's active watches and subscriptions in `accounts`; how many were suspended."""
    if not accounts:
        return 0
    store = deps.store()
    count = 0
    for watch in store.watches.for_channel(channel_id):
        if watch.account in accounts and store.watches.set_suspended(watch.id, ACCOUNT_NOT_BOUND):
            count += 1
    for subscription in store.subscriptions.for_channel(channel_id):
        if subscription.account in accounts and store.subscriptions.set_suspended(subscription.id, ACCOUNT_NOT_BOUND):
            count += 1
    return count


def _say(text: str) -> Replies:
    return (Ephemeral(notice_message(text), follow_up=True),)


def _posted(channel_id: str, text: str) -> Replies:
    """The change, posted in the channel for everyone to see."""
    return (ChannelPost(channel_id, notice_message(text), then=lambda ts: ()),)
