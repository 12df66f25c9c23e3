"""Who may ask what, worded for Slack: each check asks the process's one policy (shared.policy, built once by
bot.wiring) and words its refusal. Empty allow-lists mean "everyone", except cancelling, which nobody may do
unless named in ECS_TASKS_CANCEL_USER_IDS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.policy import TEAM_NOT_ALLOWED, AccessPolicy, may_cancel, refused_regions, workspace_refusal


@dataclass(frozen=True)
class Denied:
    reason: str


def check_workspace(policy: AccessPolicy, *, team_id: str | None, channel_id: str | None) -> Denied | None:
    # The decision is the poller's too (shared.policy); only the wording is the bot's.
    refusal = workspace_refusal(policy, team_id=team_id, channel_id=channel_id)
    if refusal == TEAM_NOT_ALLOWED:
        return Denied("ecs-tasks is not enabled for this Slack workspace (ECS_TASKS_ALLOWED_TEAM_IDS).")
    if refusal is not None:
        return Denied(
            "ecs-tasks is not enabled in this channel. Ask an admin to add it to ECS_TASKS_ALLOWED_CHANNEL_IDS, "
            "or use a channel where it is enabled."
        )
    return None


def check_regions(policy: AccessPolicy, regions: Sequence[str]) -> Denied | None:
    """`all` is narrowed to the allowed regions elsewhere; named regions must each be allowed."""
    refused = refused_regions(policy, regions)
    if refused:
        allowed = ", ".join(sorted(policy.regions))
        return Denied(f"Region {', '.join(refused)} may not be queried here. Allowed regions: {allowed}.")
    return None


def check_command(
    policy: AccessPolicy,
    *,
    team_id: str | None,
    channel_id: str | None,
    regions: Sequence[str],
    accounts: Sequence[str],
) -> Denied | None:
    """The checks a typed command passes, in order: workspace, regions, accounts (none named: none to check)."""
    return (
        check_workspace(policy, team_id=team_id, channel_id=channel_id)
        or check_regions(policy, regions)
        or check_accounts(policy, channel_id, accounts)
    )


def anyone_may_cancel(policy: AccessPolicy) -> bool:
    """Whether a Cancel button is shown on a card everyone sees (each click is still checked)."""
    return bool(policy.cancel_user_ids)


def user_may_cancel(policy: AccessPolicy, user_id: str | None) -> bool:
    return may_cancel(policy, user_id)


def cancel_denied() -> Denied:
    return Denied("You may not cancel tasks. An admin can add your Slack user id to ECS_TASKS_CANCEL_USER_IDS.")


def check_accounts(policy: AccessPolicy, channel_id: str | None, names: Sequence[str]) -> Denied | None:
    """The one check for accounts, for typed words and button values alike: every name must be one of the
    channel's accounts. A value from before accounts names `home`, the function's own account, which only a
    channel without accounts works in."""
    mine = [account.name for account in policy.accounts.accounts_for_channel(channel_id)]
    refused = [name for name in dict.fromkeys(names) if name not in mine]
    if not refused:
        return None
    shown = ", ".join(f"`{name}`" for name in refused)
    return Denied(
        f"Account {shown} is not available in this channel. This channel's accounts: "
        f"{', '.join(f'`{name}`' for name in mine)}. An admin binds channels to accounts with "
        "ECS_TASKS_CHANNEL_ACCOUNTS."
    )


def check_account_region(policy: AccessPolicy, channel_id: str | None, name: str, region: str) -> Denied | None:
    """A task named with its account and region: the account (one of the channel's) must cover the region."""
    account = policy.accounts.account_for_channel(channel_id, name)
    if account is None or account.covers(region):
        return None
    return Denied(f"{region} is not a region of `{name}` ({', '.join(account.regions)}): the task cannot be there.")
