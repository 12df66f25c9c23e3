"""What the benchmarks ran on: read from this machine at run time, for the document's header."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from bench.procs import PROJECT_ROOT

CPUINFO = Path("/proc/cpuinfo")
MEMINFO = Path("/proc/meminfo")
UNKNOWN = "unknown"
# The libraries whose versions decide most figures: ours, the baseline's, and what both stand on.
VERSIONS_OF = (
    "alibabacloud-ecs20140526",
    "alibabacloud-tea-openapi",
    "pydantic",
    "urllib3",
    "requests",
    "slack_bolt",
    "SQLAlchemy",
)


def _first_value(path: Path, key: str) -> str | None:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return None


def _memory() -> str:
    total = _first_value(MEMINFO, "MemTotal")  # "16384000 kB"
    if not total:
        return UNKNOWN
    return f"{int(total.split()[0]) / 1024 / 1024:.1f} GiB"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return UNKNOWN
    return f"{commit} (with uncommitted changes)" if git("status", "--porcelain") else commit


def describe_machine() -> dict[str, str]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "CPUs (nproc)": str(cpus),
        "CPU model": _first_value(CPUINFO, "model name") or platform.processor() or UNKNOWN,
        "memory": _memory(),
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "commit": _commit(),
        "library versions": ", ".join(f"{name} {_version(name)}" for name in VERSIONS_OF),
    }
