"""Expensive test material made once per test run, by whichever pytest-xdist worker asks for it first.

A session fixture runs once per worker; under `make test` every worker that runs a test needing the package
(or Serverless Devs' rendering) would build it again. pytest-xdist's `xdist_group` mark does not keep such
tests together with the pytest in use (xdist writes the group into a node id field this pytest does not read),
so the sharing is done here instead: the first worker makes the material in the run's temporary folder, which
all workers share, under a file lock; the others wait for the lock and read what it made.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import XDIST_WORKER_VARIABLE


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], str]) -> tuple[Path, str]:
    """`make(folder)` once per run for `name`, in an empty folder of its own; returns the folder and the text
    `make` returned (what a worker that did not make it needs to know besides the folder's files)."""
    import fcntl  # POSIX: the material made this way (Linux wheels, Node's `s`) is made on Linux or macOS

    root = tmp_path_factory.getbasetemp()
    if os.environ.get(XDIST_WORKER_VARIABLE):
        root = root.parent  # the run's folder, above each worker's own; a serial run's own folder is unique
    folder, done = root / name, root / f"{name}.done"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.is_file():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt left
            folder.mkdir()
            done.write_text(make(folder))
        return folder, done.read_text()
