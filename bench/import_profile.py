"""Where a cold start's import time goes: `python -X importtime`, self time summed by top-level package.

Importtime's own bookkeeping inflates the times somewhat; the shares are what matter.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Sequence

from bench.procs import PROJECT_ROOT, PYTHON, BenchError

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)")
TOP = 6


def self_time_by_package(importtime_output: str) -> Counter[str]:
    """Microseconds of self time per top-level package (`pydantic`, `shared`, `urllib3`, ...)."""
    totals: Counter[str] = Counter()
    for line in importtime_output.splitlines():
        match = _LINE.match(line)
        if match:
            totals[match.group(3).split(".", 1)[0]] += int(match.group(1))
    return totals


def profile_imports(module: str, args: Sequence[str], env: dict[str, str]) -> Counter[str]:
    """Run `python -X importtime -m module args` and summarise its imports."""
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "-m", module, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"{module} failed under -X importtime:\n{done.stderr[-2000:]}")
    return self_time_by_package(done.stderr)


def describe(totals: Counter[str], top: int = TOP) -> str:
    """`pydantic 61 ms (40%), urllib3 ...`: the largest packages and their share of all import time."""
    whole = sum(totals.values()) or 1
    parts = [f"{name} {micros / 1000:.0f} ms ({micros / whole:.0%})" for name, micros in totals.most_common(top)]
    return f"{', '.join(parts)}; {whole / 1000:.0f} ms in all"
