"""What a query across regions returned: each region's page, or that region's error. Plain data, so the
formatter can use it without importing the HTTP client."""

from __future__ import annotations

from dataclasses import dataclass

from shared.ecs.models import Task, TaskPage
from shared.ecs.query import TaskQuery
from shared.errors import ApiError


@dataclass(frozen=True)
class RegionResult:
    """One region's answer in a multi-region query: a page, or the error that region gave (an ECS error, or
    the STS error that kept a whole account from being asked)."""

    region_id: str
    page: TaskPage | None = None
    error: ApiError | None = None
    # The configured account this region was asked in; None for the function's own account (no accounts).
    account: str | None = None

    @property
    def where(self) -> str:
        """How cards name it: `prod · cn-hangzhou` in an account, the region id alone otherwise."""
        return f"{self.account} · {self.region_id}" if self.account else self.region_id


@dataclass(frozen=True)
class MultiRegionResult:
    query: TaskQuery
    regions: tuple[RegionResult, ...]
    # Accounts of the query that cover none of its regions, so were not asked: (name, the regions it covers).
    not_asked: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def tasks(self) -> tuple[Task, ...]:
        return tuple(t for r in self.regions if r.page for t in r.page.tasks)

    @property
    def errors(self) -> tuple[RegionResult, ...]:
        return tuple(r for r in self.regions if r.error is not None)
