"""Today's access policy as pure checks: which team, channel and region ecs-tasks may work for.

The same checks decide a command (`bot.access` words the refusal) and every stored watch and subscription
on every poller tick (`shared.updates.poller` suspends what they refuse), so narrowing an allow-list stops
old rows as surely as new commands. Empty allow-lists mean "no restriction".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.config import Settings
from shared.ecs.query import ALL_REGIONS
from shared.ecs.regions import InvalidRegionError, checked_region_id

# Why a stored row is suspended (logged, and kept in its `suspended` column).
TEAM_NOT_ALLOWED = "team_not_allowed"
CHANNEL_NOT_ALLOWED = "channel_not_allowed"
REGION_NOT_ALLOWED = "region_not_allowed"
REGION_INVALID = "region_invalid"


@dataclass(frozen=True)
class AccessPolicy:
    team_ids: frozenset[str] = frozenset()
    channel_ids: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        return cls(settings.allowed_team_ids, settings.allowed_channel_ids, settings.allowed_regions)


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


def stored_refusal(policy: AccessPolicy, *, team_id: str | None, channel_id: str, region_id: str) -> str | None:
    """Why a stored watch or subscription may no longer run, or None. A region read back from the store is
    checked like any value from outside: one not in region-id form is never used to build an endpoint."""
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
    return None
