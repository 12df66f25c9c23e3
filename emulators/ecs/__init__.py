"""An emulated Alibaba Cloud ECS endpoint (API 2014-05-26) for development and tests; never deployed.

Serves DescribeTasks, DescribeTaskAttribute, CancelTask and DescribeRegions over real HTTP with V1 and
V3 signature checks, task lifecycles driven by a TaskClock, injected faults and a control API under
`/_emulator/`. See README.md beside this file for the choices where the documentation is silent.
"""

from __future__ import annotations

from emulators.ecs.clock import TaskClock
from emulators.ecs.faults import FaultConfig
from emulators.ecs.records import RecordedCall
from emulators.ecs.seed import load_seed
from emulators.ecs.server import EcsEmulator

__all__ = ["EcsEmulator", "FaultConfig", "RecordedCall", "TaskClock", "load_seed"]
