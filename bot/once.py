"""At-least-once deliveries (Function Compute async invocations) do their work once.

The unit of work is claimed in the store before it runs; a second delivery of the same request finds the
claim and stops. A claim whose worker died is taken over when its lease runs out, so nothing is lost.
If the store itself is unreachable the work still runs: a rare duplicate beats a lost answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable

from slack_bolt.request import BoltRequest

from bot.deps import BotDeps
from shared.errors import ConfigurationError
from shared.log import log_event
from shared.store.claims import DEFERRED_WORK_LEASE, ClaimKind, claim_key

SIGNATURE_HEADER = "x-slack-signature"


def deferred_work_key(request: BoltRequest, function_name: str) -> str:
    """Slack's signature is unique per request (it covers the timestamp and body)."""
    signature = (request.headers.get(SIGNATURE_HEADER) or [""])[0]
    digest = hashlib.sha256(f"{signature}\n{request.raw_body}".encode()).hexdigest()
    return claim_key(ClaimKind.DEFERRED_WORK, function_name, digest)


def run_once(deps: BotDeps, key: str, work: Callable[[], None]) -> None:
    # Imported here: SQLAlchemy stays off the ack path, which must answer Slack within 3 seconds.
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
        log_event("lazy.duplicate", outcome="skipped", claim_key=key)
        return
    try:
        work()
    except BaseException:
        # Failed part-way: let a redelivery try again rather than find a claim that blocks it.
        with contextlib.suppress(*store_failures):
            store.release(key)
        raise
    try:
        store.complete(key)
    except store_failures as error:
        log_event("store.unavailable", level=logging.ERROR, outcome=type(error).__name__, claim_key=key)
