"""The emulated workspace's state: channels, messages, App Home views, response URLs, recorded calls,
injected faults and rate-limit counts.

Thread-safe: the HTTP server is threaded, so every read and write happens under one lock, and
whole API operations run under it (see `Workspace.lock`) so each call is atomic.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from emulators.slack.channels import OPEN_CHANNEL, Channel
from emulators.slack.faults import FaultPlan
from emulators.slack.rate_limits import RateLimiter

# What chat.postMessage answers for a reply whose parent was deleted: Slack is reported to answer `ok` and
# show the reply nowhere ("hidden"); "thread_not_found" is the stricter, kinder answer. A parent ts that was
# never a message answers `thread_not_found` in both modes.
MissingParent = Literal["hidden", "thread_not_found"]
MISSING_PARENT_MODES: frozenset[str] = frozenset(get_args(MissingParent))


@dataclass
class Message:
    """A message as it currently stands in a channel; `ephemeral_to` is the only user who sees it."""

    ts: str
    channel_id: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    ephemeral_to: str | None = None
    hidden: bool = False  # accepted but shown nowhere (a reply whose thread parent is gone)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RecordedCall:
    """One Web API call or response_url post, as received, with its outcome."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ResponseUrlTarget:
    """A response_url: who it answers, which message is "the original", and how often it was used."""

    url_id: str
    channel_id: str
    user_id: str
    created_at: float
    original_ts: str | None = None
    uses: int = 0


@dataclass
class Workspace:
    """All mutable state of one emulator; methods expect the caller to hold `lock`."""

    clock: Callable[[], float] = time.time
    initial_channels: Mapping[str, Channel] = field(default_factory=dict)
    missing_parent: MissingParent = "hidden"
    lock: threading.RLock = field(default_factory=threading.RLock)
    channels: dict[str, Channel] = field(default_factory=dict)
    messages: dict[str, list[Message]] = field(default_factory=dict)
    deleted_ts: dict[str, set[str]] = field(default_factory=dict)  # per channel, messages deleted so far
    home_views: dict[str, dict[str, Any]] = field(default_factory=dict)
    response_urls: dict[str, ResponseUrlTarget] = field(default_factory=dict)
    calls: list[RecordedCall] = field(default_factory=list)
    faults: FaultPlan = field(default_factory=FaultPlan)
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)
    _calls_changed: threading.Condition = field(init=False)
    _last_ts: float = field(default=0.0, init=False)
    _sequence: int = field(default=0, init=False)  # never reset: ids from before a reset stay unique

    def __post_init__(self) -> None:
        self._calls_changed = threading.Condition(self.lock)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.channels = dict(self.initial_channels)
            self.messages = {}
            self.deleted_ts = {}
            self.home_views = {}
            self.response_urls = {}
            self.calls = []
            self.faults.clear()
            self.rate_limiter.reset()
            self._calls_changed.notify_all()

    # --- identifiers -------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message ts like Slack's (`seconds.micros`), strictly increasing even within a microsecond."""
        now = max(self.clock(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def next_id(self, prefix: str) -> str:
        self._sequence += 1
        return f"{prefix}{self._sequence:08d}"

    # --- channels and messages ---------------------------------------------------------------

    def channel(self, channel_id: str) -> Channel:
        # Channels never configured behave as a public channel the bot is in: the emulator has no directory.
        return self.channels.get(channel_id, OPEN_CHANNEL)

    def add_message(self, message: Message) -> Message:
        self.messages.setdefault(message.channel_id, []).append(message)
        return message

    def find_message(self, channel_id: str, ts: str) -> Message | None:
        return next((m for m in self.messages.get(channel_id, []) if m.ts == ts), None)

    def delete_message(self, channel_id: str, ts: str) -> bool:
        kept = [m for m in self.messages.get(channel_id, []) if m.ts != ts]
        deleted = len(kept) != len(self.messages.get(channel_id, []))
        self.messages[channel_id] = kept
        if deleted:
            self.deleted_ts.setdefault(channel_id, set()).add(ts)
        return deleted

    def was_deleted(self, channel_id: str, ts: str) -> bool:
        return ts in self.deleted_ts.get(channel_id, set())

    def snapshot_messages(self, channel_id: str, *, hidden: bool = False) -> list[Message]:
        """Copies of the messages people see in a channel (or, with `hidden`, of those nobody sees)."""
        return [copy.deepcopy(m) for m in self.messages.get(channel_id, []) if m.hidden == hidden]

    # --- faults ------------------------------------------------------------------------------

    def raise_injected_fault(self, method: str) -> None:
        """Raise the failure injected for this call of `method`, if one is due."""
        fault = self.faults.take(method)
        if fault is not None:
            raise fault.failure()

    # --- calls -------------------------------------------------------------------------------

    def record(self, method: str, args: Mapping[str, Any], error: str | None) -> None:
        call = RecordedCall(method, copy.deepcopy(dict(args)), error is None, error, self.clock())
        self.calls.append(call)
        self._calls_changed.notify_all()

    def wait_for_calls(self, n: int, timeout: float, method: str | None) -> list[RecordedCall]:
        """Block until `n` calls (of `method`, if given) were recorded; TimeoutError otherwise."""

        def matching() -> list[RecordedCall]:
            return [c for c in self.calls if method is None or c.method == method]

        with self.lock:
            if not self._calls_changed.wait_for(lambda: len(matching()) >= n, timeout=timeout):
                seen = [c.method for c in self.calls]
                what = f"{method} calls" if method else "calls"
                raise TimeoutError(f"expected {n} {what} within {timeout}s; recorded so far: {seen}")
            return matching()
