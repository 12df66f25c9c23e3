"""Units of work done once: a deferred answer (Function Compute delivers an async invocation at least once)
and a Slack request (a replay of the very same signed bytes gets no second answer).

With a database, a deferred unit is claimed in the store before it runs; a second delivery finds the claim
and stops, and a claim whose worker died is taken over when its lease runs out. Without one (or when the
store is unreachable) the instance remembers what it ran: a delivery that reaches another instance may run
again, a rare duplicate that is logged rather than a lost answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from slack_bolt.request import BoltRequest

from bot.wiring.deps import BotDeps
from shared.errors import ConfigurationError
from shared.log import log_event
from shared.store.claims import DEFERRED_WORK_LEASE, ClaimKind, claim_key

SIGNATURE_HEADER = "x-slack-signature"
# Slack refuses signatures older than 5 minutes: a key need not be remembered longer.
REMEMBER_S = 300.0
REMEMBER_MAX = 10_000


def request_digest(request: BoltRequest) -> str:
    """Slack's signature is unique per request (it covers the timestamp and body)."""
    signature = (request.headers.get(SIGNATURE_HEADER) or [""])[0]
    return hashlib.sha256(f"{signature}\n{request.raw_body}".encode()).hexdigest()


def deferred_work_key(request: BoltRequest, function_name: str, delivery_key: str | None = None) -> str:
    """The claim of one deferred run: `delivery_key` (a sealed invocation's seal, the same on every delivery),
    else the request's own digest."""
    return claim_key(ClaimKind.DEFERRED_WORK, function_name, delivery_key or request_digest(request))


class RecentKeys:
    """Keys this instance has seen in the last REMEMBER_S seconds (bounded)."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._monotonic = monotonic

    def first_time(self, key: str) -> bool:
        now = self._monotonic()
        with self._lock:
            while self._seen and (
                len(self._seen) >= REMEMBER_MAX or next(iter(self._seen.values())) < now - REMEMBER_S
            ):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def forget(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)


def run_once(deps: BotDeps, recent: RecentKeys, key: str, work: Callable[[], None]) -> None:
    if not recent.first_time(key):
        log_event("deferred.duplicate", outcome="skipped", claim_key=key, via="instance")
        return
    if deps.settings.database_url is None:
        # No store to claim in: another instance may run a second delivery (logged there as well).
        log_event("deferred.unclaimed", level=logging.WARNING, outcome="duplicate_possible", claim_key=key)
        try:
            work()
        except BaseException:
            recent.forget(key)
            raise
        return
    # Imported here: SQLAlchemy stays off the inline path.
    from sqlalchemy.exc import SQLAlchemyError

    store_failures = (SQLAlchemyError, ConfigurationError)
    try:
        store = deps.store()
        owned = store.claim(key, now=deps.clock(), lease=DEFERRED_WORK_LEASE)
    except store_failures as error:
        log_event("store.unavailable", level=logging.ERROR, outcome=type(error).__name__, claim_key=key)
        work()
        return
    if not owned:
        log_event("deferred.duplicate", outcome="skipped", claim_key=key, via="store")
        return
    try:
        work()
    except BaseException:
        # Failed part-way: let a redelivery try again rather than find a claim that blocks it.
        recent.forget(key)
        with contextlib.suppress(*store_failures):
            store.release(key)
        raise
    try:
        store.complete(key)
    except store_failures as error:
        log_event("store.unavailable", level=logging.ERROR, outcome=type(error).__name__, claim_key=key)
