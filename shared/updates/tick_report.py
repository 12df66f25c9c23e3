"""The tick's report: what one poller tick did, assembled once from its passes' results and deliveries.

Its fields are the `poller.tick` log line's and the `ecs-tasks poll` command's output (`as_fields`), in
this order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import reduce
from typing import Any

from shared.config import ACCOUNT_NAME_RE
from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.log import log_event
from shared.region_ids import is_region_id
from shared.updates.region_pass import PassCounts, PassResult

INVALID = "(invalid)"


@dataclass(frozen=True)
class DeliveryCounts:
    """What the outbox did with this poller's rows, summed over a tick's deliveries with `+`."""

    posted: int = 0
    deferred: int = 0
    undeliverable: int = 0
    abandoned: int = 0

    def __add__(self, other: DeliveryCounts) -> DeliveryCounts:
        return DeliveryCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class TickReport:
    owner: str
    watches: int = 0
    subscriptions: int = 0
    regions: int = 0
    describe_calls: int = 0
    looked_up: int = 0
    accepted: int = 0
    discovered: int = 0
    expired: int = 0
    suspended: int = 0
    passes: int = 0
    taken_over: int = 0
    posted: int = 0
    deferred: int = 0
    undeliverable: int = 0
    abandoned: int = 0
    carried_regions: tuple[str, ...] = ()
    throttled_regions: tuple[str, ...] = ()
    duration_ms: float = 0.0

    @classmethod
    def assemble(
        cls,
        owner: str,
        *,
        subscriptions: int,
        suspended_subscriptions: int,
        first: Sequence[PassResult],
        repolls: Sequence[Sequence[PassResult]],
        taken_over: int,
        delivered: DeliveryCounts,
        duration_ms: float,
    ) -> TickReport:
        """`first`: the first pass's result per group; `repolls`: each later pass's. The watches seen, the
        suspensions and the carried groups are the first pass's (a repoll goes over the same rows again);
        calls, look-ups and changes are every pass's."""
        every = [result for results in (first, *repolls) for result in results]
        done = reduce(lambda total, result: total + result.counts, every, PassCounts())
        throttled = dict.fromkeys(group_label(r.account, r.region_id) for r in every if r.throttled)
        return cls(
            owner=owner,
            watches=sum(r.counts.watches for r in first),
            subscriptions=subscriptions,
            regions=len(first),
            describe_calls=done.describe_calls,
            looked_up=done.looked_up,
            accepted=done.accepted,
            discovered=done.discovered,
            expired=done.expired,
            suspended=suspended_subscriptions + sum(r.counts.suspended for r in first),
            passes=1 + len(repolls),
            taken_over=taken_over,
            posted=delivered.posted,
            deferred=delivered.deferred,
            undeliverable=delivered.undeliverable,
            abandoned=delivered.abandoned,
            carried_regions=tuple(group_label(r.account, r.region_id) for r in first if r.carried),
            throttled_regions=tuple(throttled),
            duration_ms=duration_ms,
        )

    def as_fields(self) -> dict[str, object]:
        """Every field but the owner (the log line names it in its context), lists as JSON arrays."""
        shown = ((f.name, getattr(self, f.name)) for f in fields(self) if f.name != "owner")
        return {name: list(value) if isinstance(value, tuple) else value for name, value in shown}


def group_label(account: str, region_id: str) -> str:
    """How a group is named in reports: the region alone for the home account, else `account/region`; a
    stored value not in region-id (or account-name) form is never repeated."""
    region = region_id if is_region_id(region_id) else INVALID
    return region if account == HOME_ACCOUNT_NAME else f"{shown_account(account)}/{region}"


def shown_account(account: str) -> str:
    """A stored account name as it may appear in logs and reports."""
    return account if ACCOUNT_NAME_RE.fullmatch(account) else INVALID


def log_tick(report: TickReport, **extra: object) -> None:
    fields_: dict[str, Any] = {**report.as_fields(), **extra}
    log_event("poller.tick", **fields_)
