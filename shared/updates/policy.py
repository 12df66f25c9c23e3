"""Today's access policy as pure checks: which team, channel, region and account ecs-tasks may work for.

The same checks decide a command (`bot.slack.access` words the refusal) and every stored watch and subscription
on every poller tick (`shared.updates.poller` suspends what they refuse), so narrowing an allow-list stops
old rows as surely as new commands. Empty allow-lists mean "no restriction". A stored row's account must
be one its channel is bound to today (ECS_TASKS_CHANNEL_ACCOUNTS / ECS_TASKS_DEFAULT_ACCOUNTS; with no
accounts configured, every channel works in "home" only), so unbinding a channel stops its old rows too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from shared.config import ACCOUNT_NAME_RE, Settings
from shared.ecs.accounts import HOME_ACCOUNT_NAME, AccountDirectory
from shared.ecs.query import ALL_REGIONS
from shared.region_ids import InvalidRegionError, checked_region_id

# Why a stored row is suspended (logged, and kept in its `suspended` column).
TEAM_NOT_ALLOWED = "team_not_allowed"
CHANNEL_NOT_ALLOWED = "channel_not_allowed"
REGION_NOT_ALLOWED = "region_not_allowed"
REGION_INVALID = "region_invalid"
ACCOUNT_INVALID = "account_invalid"  # the stored account is not in account-name form
ACCOUNT_NOT_BOUND = "account_not_bound"  # the channel is no longer bound to it, or it is no longer configured


@dataclass(frozen=True)
class AccessPolicy:
    team_ids: frozenset[str] = frozenset()
    channel_ids: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    # The configured accounts and channel bindings; the empty directory binds every channel to "home" only.
    accounts: AccountDirectory = field(default_factory=AccountDirectory)

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        return cls(
            settings.allowed_team_ids,
            settings.allowed_channel_ids,
            settings.allowed_regions,
            AccountDirectory.from_settings(settings),
        )


def workspace_refusal(policy: AccessPolicy, *, team_id: str | None, channel_id: str | None) -> str | None:
    """TEAM_NOT_ALLOWED or CHANNEL_NOT_ALLOWED, or None when both are allowed."""
    if policy.team_ids and team_id not in policy.team_ids:
        return TEAM_NOT_ALLOWED
    if policy.channel_ids and channel_id not in policy.channel_ids:
        return CHANNEL_NOT_ALLOWED
    return None


def refused_regions(policy: AccessPolicy, regions: Iterable[str]) -> list[str]:
    """The named regions ECS_TASKS_REGIONS leaves out (`all` is narrowed to the allowed ones elsewhere)."""
    if not policy.regions:
        return []
    return [r for r in regions if r != ALL_REGIONS and r not in policy.regions]


def stored_refusal(
    policy: AccessPolicy,
    *,
    team_id: str | None,
    channel_id: str,
    region_id: str,
    account: str = HOME_ACCOUNT_NAME,
) -> str | None:
    """Why a stored watch or subscription may no longer run, or None. A region read back from the store is
    checked like any value from outside: one not in region-id form is never used to build an endpoint. So is
    its account: a name not in account-name form, or one the channel is not bound to today, is never used
    to pick credentials."""
    refusal = workspace_refusal(policy, team_id=team_id, channel_id=channel_id)
    if refusal is not None:
        return refusal
    if region_id != ALL_REGIONS:
        try:
            checked_region_id(region_id)
        except InvalidRegionError:
            return REGION_INVALID
    if refused_regions(policy, [region_id]):
        return REGION_NOT_ALLOWED
    return account_refusal(policy, channel_id=channel_id, account=account)


def account_refusal(policy: AccessPolicy, *, channel_id: str, account: str) -> str | None:
    """ACCOUNT_INVALID or ACCOUNT_NOT_BOUND for a stored account name, or None when the channel works in it."""
    if not ACCOUNT_NAME_RE.fullmatch(account):
        return ACCOUNT_INVALID
    if policy.accounts.account_for_channel(channel_id, account) is None:
        return ACCOUNT_NOT_BOUND
    return None
