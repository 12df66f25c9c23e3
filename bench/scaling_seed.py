"""The watched tasks of the poller-scaling benchmark: the same ids in the emulator and in the store.

Every task stays Processing and every watch last saw it Processing, so a tick finds no change: it measures
the polling itself (store reads, DescribeTasks batches, parsing), not Slack posts.
"""

from __future__ import annotations

from typing import Any

from emulators.ecs.regions import KNOWN_REGIONS

REGION_COUNT = 20
SCALING_REGIONS: tuple[str, ...] = tuple(region.region_id for region in KNOWN_REGIONS[:REGION_COUNT])
WATCHED_STATUS = "Processing"
WATCHED_PROGRESS = "50%"
TASK_AGE_S = 600
ACTION = "ImportImage"


def task_id(region_index: int, number: int) -> str:
    # 20 characters after `t-`, like real ids; sortable, so batches are predictable.
    return f"t-bench{region_index:02d}{number:011d}"


def watched_ids(total: int) -> dict[str, list[str]]:
    """`total` task ids spread evenly over the regions (the first regions get the remainder)."""
    ids: dict[str, list[str]] = {}
    for index, region_id in enumerate(SCALING_REGIONS):
        count = total // REGION_COUNT + (1 if index < total % REGION_COUNT else 0)
        ids[region_id] = [task_id(index, n) for n in range(count)]
    return ids


def emulator_seed(total: int) -> list[dict[str, Any]]:
    return [
        {
            "TaskId": tid,
            "RegionId": region_id,
            "TaskAction": ACTION,
            "TaskStatus": WATCHED_STATUS,
            "TaskProcess": WATCHED_PROGRESS,
            "created_ago_s": TASK_AGE_S,
        }
        for region_id, ids in watched_ids(total).items()
        for tid in ids
    ]
