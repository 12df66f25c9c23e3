"""What `ecs-tasks doctor` found: one check of the deployment, passed, failed (with what to fix) or skipped
(with why it cannot be checked here). Plain values: the CLI prints them, Slack words them, JSON carries them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "failed", "skipped"]
MARKS: dict[Status, str] = {"ok": "✅", "failed": "❌", "skipped": "➖"}


@dataclass(frozen=True)
class Check:
    name: str  # what was checked: `slack token`, `account prod · cn-hangzhou`
    status: Status
    detail: str  # what was found; for a failure, what to fix. Never a secret.

    @property
    def line(self) -> str:
        return f"{MARKS[self.status]} {self.name}: {self.detail}"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


def passed(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def failed(name: str, detail: str) -> Check:
    return Check(name, "failed", detail)


def skipped(name: str, detail: str) -> Check:
    return Check(name, "skipped", detail)


def all_passed(checks: Iterable[Check]) -> bool:
    """No check failed (skipped ones count as passed: they say why they could not run)."""
    return all(check.status != "failed" for check in checks)
