"""Function Compute's limit on a function's environment, applied to a template as `s deploy` would render it.

Function Compute: "The total size of all environment variables cannot exceed 4 KB"
(https://www.alibabacloud.com/help/en/functioncompute/fc/environment-variables, "Limitations"). The page does
not say how the size is measured; this counts every name and every value, in UTF-8 bytes, the larger reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.deploy_template import deploy_environment, load_template, render

ENVIRONMENT_LIMIT_BYTES = 4096
LARGEST_SHOWN = 5  # settings named in the refusal, largest first


class EnvironmentTooLarge(Exception):
    """A function's environment is over the limit; the message names its largest settings, never a value."""


@dataclass(frozen=True)
class EnvironmentSize:
    """One function's environment as Function Compute measures it: names plus values, in UTF-8 bytes."""

    resource: str
    sizes: tuple[tuple[str, int], ...]  # (setting, bytes of name and value), largest first

    @property
    def total(self) -> int:
        return sum(size for _, size in self.sizes)

    @property
    def over_limit(self) -> bool:
        return self.total > ENVIRONMENT_LIMIT_BYTES


def environment_sizes(rendered: Mapping[str, Any]) -> list[EnvironmentSize]:
    """Each fc3 function's environment, measured setting by setting."""
    measured = []
    for name, resource in rendered["resources"].items():
        if resource.get("component") != "fc3":
            continue
        environment: Mapping[str, Any] = resource["props"].get("environmentVariables") or {}
        sizes = [(key, len(key.encode()) + len(str(value).encode())) for key, value in environment.items()]
        measured.append(EnvironmentSize(name, tuple(sorted(sizes, key=lambda item: (-item[1], item[0])))))
    return measured


def refusal(size: EnvironmentSize) -> str:
    """What to tell the operator: the function, its total, and its largest settings by name and size only."""
    largest = ", ".join(f"{name} {size_b} bytes" for name, size_b in size.sizes[:LARGEST_SHOWN])
    return (
        f"the {size.resource} function's environment would be {size.total} bytes, over Function Compute's limit "
        f"of {ENVIRONMENT_LIMIT_BYTES} (names plus values), so `s deploy` would fail. Largest settings: {largest}. "
        'See docs/deploying.md, "The 4 KB environment".'
    )


def check_environment_size(template: Path, environ: Mapping[str, str]) -> list[EnvironmentSize]:
    """Each function's environment as `s deploy` would render it from `environ`; EnvironmentTooLarge when one is
    over the limit. Required settings not set yet count as empty: `s deploy` stops on them anyway."""
    rendered = render(load_template(template), deploy_environment(template, environ), strict=False)
    sizes = environment_sizes(rendered)
    problems = [refusal(size) for size in sizes if size.over_limit]
    if problems:
        raise EnvironmentTooLarge("\n".join(problems))
    return sizes
