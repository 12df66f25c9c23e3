"""Once-only claims: every kind of claim, named here, and the keys built from them.

A claim is one row, inserted or taken over by one conditional statement, so of several deliveries of the
same unit of work exactly one proceeds. Keys are `<kind>:<parts>`, cut to the key column's length.
"""

from __future__ import annotations

from datetime import timedelta
from enum import Enum

# Keys of every engine's indexes: 191 characters keeps a utf8mb4 key within MySQL's index limit.
KEY_LENGTH = 191


class ClaimKind(str, Enum):
    # One deferred answer per Slack request (Function Compute may deliver an async invocation twice).
    DEFERRED_WORK = "lazy"  # the stored keys' prefix: claims already in the store carry it
    # One "cannot post in that channel" message per problem, channel and person who set the watch up.
    CHANNEL_NOTICE = "notice"
    # One handling per EventBridge event (source + id): EventBridge delivers at least once.
    API_CALL_EVENT = "event"


# Longer than deferred work may run (the function's 60 s timeout), so a live worker is never overtaken,
# and short enough that a redelivery after a worker was killed mid-way can still take over.
DEFERRED_WORK_LEASE = timedelta(seconds=90)
CHANNEL_NOTICE_LEASE = timedelta(minutes=10)
# Longer than the event function's timeout, so a live handler is never overtaken by a redelivery.
API_CALL_EVENT_LEASE = timedelta(seconds=90)


def claim_key(kind: ClaimKind, *parts: str) -> str:
    return ":".join((kind.value, *parts))[:KEY_LENGTH]
