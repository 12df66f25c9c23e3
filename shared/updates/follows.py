"""Following what the subscriptions found: one follow per channel and task, the poller's scans and the events'
announcements alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from shared.updates.model import Lease
from shared.updates.plan import Discovery
from shared.updates.storage import WatchStorage


def follow_discoveries(
    watches: WatchStorage,
    found: Sequence[Discovery],
    *,
    region_id: str,
    account: str,
    now: datetime,
    ttl: timedelta,
    lease: Lease,
    started_by: str | None = None,
) -> int:
    """Each found task followed in each channel that wants it, unless the channel follows it already; the
    number of new follows. Of several subscriptions of a channel that found a task, one that announces goes
    first, so a task is announced once and the channel's other matches leave it be."""
    ordered = sorted(found, key=lambda d: not d.announce)
    settled = watches.settled_in_channels(
        sorted({d.subscription.channel_id for d in ordered}),
        region_id,
        sorted({d.task.task_id for d in ordered}),
        account=account,
    )
    added = 0
    for discovery in ordered:
        key = (discovery.subscription.channel_id, discovery.task.task_id)
        if key in settled:
            continue
        settled.add(key)
        added += watches.add_followup(
            discovery.subscription,
            discovery.task.with_region(region_id),
            announce=discovery.announce,
            now=now,
            ttl=ttl,
            lease=lease,
            started_by=started_by,
        )
    return added
