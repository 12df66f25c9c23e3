"""What the STS emulator has issued, shared with the ECS emulator so it knows whose credentials it sees.

A `SessionRegistry` maps each issued AccessKeyId to its `IssuedSession`: the role's account, the role, the
session name and what the session may do (the role's permissions intersected with the session policy).
"""

from __future__ import annotations

import fnmatch
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulators.sts.verify import KeyRecord

EFFECT_ALLOW = "Allow"
EFFECT_DENY = "Deny"
POLICY_VERSION = "1"


class PolicyGrammarError(ValueError):
    """A policy document that is not RAM policy grammar."""


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    """A parsed RAM policy: allowed and denied action patterns (`ecs:Describe*`, `*`)."""

    statements: tuple[Statement, ...]

    def allows(self, action: str) -> bool:
        def hit(statement: Statement) -> bool:
            return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in statement.actions)

        if any(hit(s) for s in self.statements if s.effect == EFFECT_DENY):
            return False
        return any(hit(s) for s in self.statements if s.effect == EFFECT_ALLOW)

    @classmethod
    def allowing(cls, actions: Iterable[str]) -> Policy:
        return cls((Statement(EFFECT_ALLOW, tuple(actions)),))


def _strings(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        raise PolicyGrammarError("Action and Resource must be a string or a non-empty list of strings")
    return tuple(items)


def parse_policy(text: str) -> Policy:
    """RAM policy grammar: {"Version": "1", "Statement": [{"Effect", "Action", "Resource"[, "Condition"]}]}."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise PolicyGrammarError("not JSON") from None
    if not isinstance(document, dict) or document.get("Version") != POLICY_VERSION:
        raise PolicyGrammarError('Version must be "1"')
    raw_statements = document.get("Statement")
    if not isinstance(raw_statements, list) or not raw_statements:
        raise PolicyGrammarError("Statement must be a non-empty list")
    statements = []
    for raw in raw_statements:
        if not isinstance(raw, dict) or set(raw) - {"Effect", "Action", "Resource", "Condition"}:
            raise PolicyGrammarError("a statement has only Effect, Action, Resource and Condition")
        if raw.get("Effect") not in (EFFECT_ALLOW, EFFECT_DENY):
            raise PolicyGrammarError("Effect must be Allow or Deny")
        actions = _strings(raw.get("Action"))
        _strings(raw.get("Resource"))
        statements.append(Statement(raw["Effect"], actions))
    return Policy(tuple(statements))


@dataclass(frozen=True)
class IssuedSession:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(repr=False)
    account_id: str
    role_arn: str
    session_name: str
    expiration: datetime
    role_policy: Policy
    session_policy: Policy | None  # None: no session policy, the role's permissions apply
    policy_text: str | None = None

    def allows(self, action: str) -> bool:
        ecs_action = action if ":" in action else f"ecs:{action}"
        if not self.role_policy.allows(ecs_action):
            return False
        return self.session_policy is None or self.session_policy.allows(ecs_action)

    def key_record(self) -> KeyRecord:
        return KeyRecord(self.access_key_secret, self.security_token, self.expiration)


class SessionRegistry:
    """Every session the STS emulator issued, by AccessKeyId. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, IssuedSession] = {}

    def add(self, session: IssuedSession) -> None:
        with self._lock:
            self._sessions[session.access_key_id] = session

    def lookup(self, access_key_id: str) -> IssuedSession | None:
        with self._lock:
            return self._sessions.get(access_key_id)

    @property
    def sessions(self) -> list[IssuedSession]:
        with self._lock:
            return list(self._sessions.values())
