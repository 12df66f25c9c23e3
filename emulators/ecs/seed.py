"""Seed files: the tasks an emulator starts with (`seed.json` beside this module by default)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emulators.ecs.tasks import SeedError

DEFAULT_SEED_FILE = Path(__file__).with_name("seed.json")


def load_seed(path: Path | None = None) -> list[dict[str, Any]]:
    """The task entries of a seed file: a JSON list, or an object with a `tasks` list."""
    data = json.loads((path or DEFAULT_SEED_FILE).read_text(encoding="utf-8"))
    tasks = data.get("tasks") if isinstance(data, dict) else data
    if not isinstance(tasks, list) or not all(isinstance(task, dict) for task in tasks):
        raise SeedError(f"{path or DEFAULT_SEED_FILE}: expected a list of task objects")
    return tasks
