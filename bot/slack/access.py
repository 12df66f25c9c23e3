"""Who may ask what: pure checks over the access-control settings. Empty allow-lists mean "everyone",
except cancelling, which nobody may do unless named in ECS_TASKS_CANCEL_USER_IDS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.config import Settings
from shared.updates.policy import TEAM_NOT_ALLOWED, AccessPolicy, refused_regions, workspace_refusal

if TYPE_CHECKING:
    from shared.ecs.accounts import AccountDirectory


@dataclass(frozen=True)
class Denied:
    reason: str


def check_workspace(settings: Settings, *, team_id: str | None, channel_id: str | None) -> Denied | None:
    # The decision is the poller's too (shared.updates.policy); only the wording is the bot's.
    refusal = workspace_refusal(AccessPolicy.from_settings(settings), team_id=team_id, channel_id=channel_id)
    if refusal == TEAM_NOT_ALLOWED:
        return Denied("ecs-tasks is not enabled for this Slack workspace (ECS_TASKS_ALLOWED_TEAM_IDS).")
    if refusal is not None:
        return Denied(
            "ecs-tasks is not enabled in this channel. Ask an admin to add it to ECS_TASKS_ALLOWED_CHANNEL_IDS, "
            "or use a channel where it is enabled."
        )
    return None


def check_regions(settings: Settings, regions: Sequence[str]) -> Denied | None:
    """`all` is narrowed to the allowed regions elsewhere; named regions must each be allowed."""
    refused = refused_regions(AccessPolicy.from_settings(settings), regions)
    if refused:
        allowed = ", ".join(sorted(settings.allowed_regions))
        return Denied(f"Region {', '.join(refused)} may not be queried here. Allowed regions: {allowed}.")
    return None


def check_command(
    settings: Settings,
    directory: AccountDirectory | None,
    *,
    team_id: str | None,
    channel_id: str | None,
    regions: Sequence[str],
    accounts: Sequence[str],
) -> Denied | None:
    """The checks a typed command passes, in order: workspace, regions, accounts (`directory` None: no
    accounts are configured, so none can be named)."""
    return (
        check_workspace(settings, team_id=team_id, channel_id=channel_id)
        or check_regions(settings, regions)
        or (check_accounts(directory, channel_id, accounts) if directory is not None else None)
    )


def anyone_may_cancel(settings: Settings) -> bool:
    """Whether a Cancel button is shown on a card everyone sees (each click is still checked)."""
    return bool(settings.cancel_user_ids)


def user_may_cancel(settings: Settings, user_id: str | None) -> bool:
    return bool(user_id) and user_id in settings.cancel_user_ids


def cancel_denied() -> Denied:
    return Denied("You may not cancel tasks. An admin can add your Slack user id to ECS_TASKS_CANCEL_USER_IDS.")


def check_accounts(directory: AccountDirectory, channel_id: str | None, names: Sequence[str]) -> Denied | None:
    """The one check for accounts (issue 13), for typed words and button values alike: every name must be
    one of the channel's accounts. A value from before accounts names `home`, the function's own account,
    which only a channel without accounts works in."""
    mine = [account.name for account in directory.accounts_for_channel(channel_id)]
    refused = [name for name in dict.fromkeys(names) if name not in mine]
    if not refused:
        return None
    shown = ", ".join(f"`{name}`" for name in refused)
    return Denied(
        f"Account {shown} is not available in this channel. This channel's accounts: "
        f"{', '.join(f'`{name}`' for name in mine)}. An admin binds channels to accounts with "
        "ECS_TASKS_CHANNEL_ACCOUNTS."
    )


def check_account_region(directory: AccountDirectory, channel_id: str | None, name: str, region: str) -> Denied | None:
    """A task named with its account and region: the account (one of the channel's) must cover the region."""
    account = directory.account_for_channel(channel_id, name)
    if account is None or account.covers(region):
        return None
    return Denied(f"{region} is not a region of `{name}` ({', '.join(account.regions)}): the task cannot be there.")
