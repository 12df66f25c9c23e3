"""One JSON line per event on stderr, which Function Compute ships to its log store.

Every line carries the invocation's context (request id, Slack team/channel/user) from a context variable,
so listeners need not pass it around. Known secret values are masked as a last line of defence; the code
never logs a secret on purpose.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

LOGGER_NAME = "ecs_tasks"
MASK = "[redacted]"
# Secrets shorter than this are not masked: they would mask ordinary words.
_MIN_SECRET_LENGTH = 6

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("ecs_tasks_log", default=_EMPTY)


@dataclass(frozen=True)
class _Secrets:
    """The registered secrets, longest first (a part never spoils a whole), and the one pattern of them all.
    A substring search for each (in C) tells whether the pattern, which is tried at every position of a
    line, needs to run at all. Replaced whole when a secret is added, so a line never sees half of a change."""

    values: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None

    def adding(self, value: str) -> _Secrets:
        values = tuple(sorted((*self.values, value), key=len, reverse=True))
        return _Secrets(values, re.compile("|".join(re.escape(v) for v in values)))

    def masked(self, text: str) -> str:
        if self.pattern is None or not any(value in text for value in self.values):
            return text
        return self.pattern.sub(MASK, text)


_secrets = _Secrets()

# The user-info of any URL (`scheme://user:password@host`): credentials, whether registered or not.
_URL_USERINFO_RE = re.compile(r"(?<=://)[^/?#@\s'\"<>]+@")

logger = logging.getLogger(LOGGER_NAME)


def register_secret(value: str | None) -> None:
    """Mask this value wherever it would appear in a log line."""
    global _secrets
    if value and len(value) >= _MIN_SECRET_LENGTH and value not in _secrets.values:
        _secrets = _secrets.adding(value)


def redact(text: str) -> str:
    """`text` with every registered secret and every URL's user-info masked; for logs and messages alike."""
    text = _secrets.masked(text)
    return _URL_USERINFO_RE.sub(MASK + "@", text) if "://" in text else text


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields (request_id, team_id, channel_id, user_id, ...) to every event logged inside."""
    merged = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def log_event(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event: `event` names it; fields such as outcome, duration_ms, ecs_request_id describe it."""
    if logger.isEnabledFor(level):
        if not logger.handlers:
            # Before configure_logging (a setting failed to load), Python's last-resort handler would print
            # the bare event name: a JSON line on stderr says what happened instead.
            _attach(_StderrHandler(), logger)
        logger.log(level, event, extra={"fields": fields})


# One encoder for every line: `json.dumps` with options builds a new one per call.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        # Lines come many a second: the formatted second is kept (as one tuple, for threads) until it passes.
        self._second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        second, second_text = self._second
        if int(record.created) != second:
            second = int(record.created)
            second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, second_text)
        payload: dict[str, Any] = {
            "time": f"{second_text}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        payload.update(_context.get())
        payload.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: exception text can carry request data, and tracebacks are many lines.
            payload["exception"] = record.exc_info[0].__name__
        return redact(_ENCODER.encode(payload))


# Library loggers whose records we also want as JSON lines (warnings and errors only).
_LIBRARY_LOGGERS = ("slack_bolt", "slack_sdk", "urllib3")


class _OwnHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure_logging installs (and replaces on a second call); others are left alone."""


class _StderrHandler(_OwnHandler):
    """The fallback handler: writes to whatever sys.stderr is at the time (tests and runtimes replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: int = logging.INFO, stream: Any = None) -> None:
    """Attach one JSON handler to our logger and the libraries' (idempotent across warm invocations).

    Not the root logger: the Function Compute runtime owns that one and prefixes its own text.
    """
    # The logging cookbook's switches for what these lines never show: caller, thread and process lookups.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = _OwnHandler(stream) if stream is not None else _StderrHandler()
    for name, name_level in ((LOGGER_NAME, level), *((lib, logging.WARNING) for lib in _LIBRARY_LOGGERS)):
        target = logging.getLogger(name)
        _attach(handler, target)
        target.setLevel(name_level)


def _attach(handler: _OwnHandler, target: logging.Logger) -> None:
    handler.setFormatter(JsonFormatter())
    for existing in list(target.handlers):
        if isinstance(existing, _OwnHandler):
            target.removeHandler(existing)
    target.addHandler(handler)
    target.propagate = False
