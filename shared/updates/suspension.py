"""A stored row's suspension mark kept in line with today's access policy (`shared.policy`).

Watches and subscriptions alike: what the policy refuses is marked suspended (never asked about, never
posted), what it allows again is unmarked; each change of mark is logged once, by the one call whose
compare-and-set changed it, so a suspension is logged once and not every tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from shared.log import log_event


def settle_suspension(
    refusal: str | None,
    marked: str | None,
    set_mark: Callable[[str | None], bool],
    *,
    names: Mapping[str, Any],
    suspended_names: Mapping[str, Any] | None = None,
) -> bool:
    """Whether the row may run today. `refusal` is today's policy's reason to stop it (None: allowed);
    `marked` the reason stored with it; `set_mark` the store's compare-and-set of that mark (True for the
    call that changed it). `names` name the row in both log lines, `suspended_names` in a suspension's too."""
    if refusal is not None:
        if marked != refusal and set_mark(refusal):
            fields: dict[str, Any] = {**names, **(suspended_names or {}), "reason": refusal}
            log_event("updates.suspended", level=logging.WARNING, **fields)
        return False
    if marked is not None and set_mark(None):
        log_event("updates.resumed", **names)
    return True
