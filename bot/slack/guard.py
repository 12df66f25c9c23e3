"""The one guard every button click passes: the click read once, its value decoded for the button's kind
(`bot.slack.buttons`), and the same checks as a typed command (team, channel, region, bounds, accounts),
plus the button's rule (cancel permission) and, for a value naming a task's account and region, that the
account covers the region. A button that only removes the channel's own rows (Unwatch, Unsubscribe) skips the
region and account checks: the channel may have been re-bound since the row was made, and typed `unwatch`
removes it all the same.

Cards outlive changes to the allow-lists and anyone can edit a value before Slack signs the click, so a
value is checked exactly as strictly as the words a user types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from bot.language.codecs import QueryCodecError, TaskRef, UnwatchRef, decode_query, decode_task_ref, decode_unwatch_ref
from bot.language.regions import recognised_regions
from bot.language.words import MAX_PAGE, TASK_ID_RE
from bot.slack.buttons import Button, ButtonKind
from bot.usecases import access
from bot.usecases.work import Click
from shared.config import ACCOUNT_NAME_RE, Settings
from shared.ecs.query import ALL_REGIONS, TaskQuery
from shared.region_ids import is_region_id

if TYPE_CHECKING:
    from shared.policy import AccessPolicy

STALE_BUTTON = "This button is from an older card; run the command again."
# Subscription ids are database keys: 18 ASCII digits is more than any engine's BIGINT holds.
MAX_ID_DIGITS = 18


Decoded: TypeAlias = TaskQuery | TaskRef | UnwatchRef | int


@dataclass(frozen=True)
class Allowed:
    click: Click
    value: Decoded


@dataclass(frozen=True)
class Refused:
    reason: str


def check_click(
    settings: Settings,
    button: Button,
    body: Mapping[str, Any],
    *,
    now: datetime,
    policy: AccessPolicy,
) -> Allowed | Refused:
    """The click on `button` checked by the button's rule, under `policy` (the process's access policy, its
    accounts and bindings included)."""
    click = Click.of(body)
    if click is None:
        return Refused(STALE_BUTTON)
    denied = access.check_workspace(policy, team_id=click.team_id, channel_id=click.channel_id)
    if denied is not None:
        return Refused(denied.reason)
    if button.cancels and not access.user_may_cancel(policy, click.user_id):
        return Refused(access.cancel_denied().reason)
    known_regions = recognised_regions(settings.allowed_regions)
    decoded = _decode(button.kind, click.value, known_regions=known_regions, now=now)
    if decoded is None:
        return Refused(STALE_BUTTON)
    if button.own_rows_only:
        return Allowed(click, decoded)
    denied = access.check_regions(policy, _regions(decoded))
    if denied is not None:
        return Refused(denied.reason)
    denied = access.check_accounts(policy, click.channel_id, _accounts(decoded)) or _check_task_region(
        policy, click.channel_id, decoded
    )
    if denied is not None:
        return Refused(denied.reason)
    return Allowed(click, decoded)


def _check_task_region(policy: AccessPolicy, channel_id: str, decoded: Decoded) -> access.Denied | None:
    """A value naming a task's account and region: the account must cover the region."""
    if isinstance(decoded, (TaskRef, UnwatchRef)) and decoded.account:
        return access.check_account_region(policy, channel_id, decoded.account, decoded.region)
    return None


def _accounts(decoded: Decoded) -> tuple[str, ...]:
    """The accounts a value names; a query or task value from before accounts names the function's own."""
    from shared.ecs.accounts import HOME_ACCOUNT_NAME

    if isinstance(decoded, TaskQuery):
        return decoded.accounts or (HOME_ACCOUNT_NAME,)
    if isinstance(decoded, TaskRef):
        return (*decoded.query.accounts, decoded.account or HOME_ACCOUNT_NAME)
    if isinstance(decoded, UnwatchRef):
        return (decoded.account,)
    return ()


def _decode(kind: ButtonKind, value: str, *, known_regions: frozenset[str], now: datetime) -> Decoded | None:
    """The value, or None when it is not one this button's card could have carried."""
    decoded: Decoded
    try:
        if kind is ButtonKind.QUERY:
            decoded = decode_query(value, known_regions=known_regions, now=now)
        elif kind is ButtonKind.TASK_REF:
            decoded = decode_task_ref(value, known_regions=known_regions, now=now)
        elif kind is ButtonKind.UNWATCH_REF:
            decoded = decode_unwatch_ref(value)
        else:
            # ASCII only: `'²'.isdigit()` is True, and int() then fails.
            if not (value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS):
                return None
            decoded = int(value)
    except QueryCodecError:
        return None
    return decoded if _in_bounds(decoded) else None


def _in_bounds(decoded: Decoded) -> bool:
    """The bounds typed words have: region-id form, task-id form, pages no further than MAX_PAGE."""
    if isinstance(decoded, int):
        return decoded > 0
    if not all(r == ALL_REGIONS or is_region_id(r) for r in _regions(decoded)):
        return False
    if isinstance(decoded, (TaskRef, UnwatchRef)) and (
        decoded.region == ALL_REGIONS or not is_region_id(decoded.region)
    ):
        return False  # a task lives in one region, never in `all`
    query = decoded.query if isinstance(decoded, TaskRef) else decoded if isinstance(decoded, TaskQuery) else None
    task_ids = tuple(query.task_ids) if query else ()
    if isinstance(decoded, (TaskRef, UnwatchRef)):
        task_ids += (decoded.task_id,)
    if not all(TASK_ID_RE.fullmatch(t) for t in task_ids):
        return False
    if isinstance(decoded, UnwatchRef) and not ACCOUNT_NAME_RE.fullmatch(decoded.account):
        return False
    return query is None or query.page <= MAX_PAGE


def _regions(decoded: Decoded) -> tuple[str, ...]:
    if isinstance(decoded, TaskQuery):
        return decoded.regions
    if isinstance(decoded, TaskRef):
        return (decoded.region, *decoded.query.regions)
    if isinstance(decoded, UnwatchRef):
        return (decoded.region,)
    return ()
