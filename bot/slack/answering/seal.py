"""The proof a deferred invocation carries that this function made it: an HMAC-SHA256 over the invocation
(the original event, the deferred run, and its own issue time) under a key derived from the signing secret.

Slack's signature on the original request is good for five minutes, and Function Compute may deliver an async
invocation later than that; the response_url the deferred run answers through is good for thirty. So the
deferred run is judged by this seal, valid for as long as the response_url is, and the request it dispatches
is then signed afresh with the signing secret (`functions.http`), so Bolt verifies it as it verifies every
request. The key is derived (never the signing secret itself) so a seal can never pass for a Slack signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# How long a sealed invocation may be run: the life of a response_url (Slack: 30 minutes).
SEAL_LIFETIME_S = 30 * 60
# Issue times a little ahead of this instance's clock (another instance's clock) are still its own.
CLOCK_SKEW_S = 60
_KEY_LABEL = b"ecs-tasks deferred invocation v1"


@dataclass(frozen=True)
class Sealer:
    key: bytes = field(repr=False)

    @classmethod
    def from_signing_secret(cls, signing_secret: str) -> Sealer:
        return cls(hmac.new(signing_secret.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest())

    def seal(self, content: Mapping[str, Any], issued_at: int) -> str:
        return hmac.new(self.key, _canonical(content, issued_at), hashlib.sha256).hexdigest()

    def holds(self, content: Mapping[str, Any], issued_at: int, seal: str) -> bool:
        return hmac.compare_digest(self.seal(content, issued_at), seal)


def _canonical(content: Mapping[str, Any], issued_at: int) -> bytes:
    """One byte string for the content as JSON carries it (its keys sorted): the payload survives a JSON
    round trip through Function Compute unchanged in meaning, and so in this form."""
    return json.dumps({"content": content, "issued_at": issued_at}, sort_keys=True, separators=(",", ":")).encode()
