"""Processes the benchmarks start: the emulators' process, and measured children that report one JSON line.

Every process started here is ended here, by its own handle, never by name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.env import CHANNEL_ID, RESULT_PREFIX, USER_ID, child_env, handler_env

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
STARTUP_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
CHILD_TIMEOUT_S = 600.0
STDERR_TAIL_CHARS = 2000
JSON_HEADERS = {"Content-Type": "application/json"}
RESPONSE_URL_METHOD = "response_url"  # how the Slack emulator records posts to a response_url


class BenchError(RuntimeError):
    """A benchmark could not measure what it set out to (a child failed, an answer was missing)."""


# The packages a measured child imports from this checkout: the deployed ones, the bench's own child code and
# the FC stand-in that cold instances run in.
PROJECT_PACKAGES = ("shared", "bot", "functions", "bench", "emulators")


def compile_project_bytecode() -> None:
    """Write the bytecode of this checkout's packages, as the deployed package ships it (`make package`).

    A site-packages library has its bytecode from pip; the checkout has only what an earlier import wrote, and
    with PYTHONDONTWRITEBYTECODE set in the caller's environment nothing ever does, so every cold child would
    compile the project from source while the official SDK's are loaded from bytecode. The "no bytecode"
    figures look past every cache with their own PYTHONPYCACHEPREFIX, so they are unchanged by this.
    """
    done = subprocess.run(
        [PYTHON, "-m", "compileall", "-q", *PROJECT_PACKAGES],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"compileall failed:\n{(done.stdout + done.stderr)[-STDERR_TAIL_CHARS:]}")


# --- the emulators' process -------------------------------------------------------------------------


@dataclass(frozen=True)
class EmulatorUrls:
    ecs_url: str
    slack_url: str
    slack_api_url: str

    def handler_env(self, database_url: str) -> dict[str, str]:
        """The whole environment for a child serving Slack through the FC handler."""
        settings = handler_env(ecs_url=self.ecs_url, slack_api_url=self.slack_api_url, database_url=database_url)
        return child_env(dict(os.environ), settings)


class EmulatorProcess:
    """`with EmulatorProcess() as urls:` — the ECS and Slack emulators in their own process."""

    def __init__(self, *, watched: int = 0) -> None:
        self._args = ["--watched", str(watched)] if watched else []
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> EmulatorUrls:
        process = subprocess.Popen(
            [PYTHON, "-m", "bench.emulators_proc", *self._args],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._process = process
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            self._stop()
            raise BenchError("the emulators' process exited before it was ready")
        return EmulatorUrls(**json.loads(line))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the process exits at EOF
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the emulators' control APIs ----------------------------------------------------------------------


def http_json(url: str, payload: dict[str, Any] | None = None) -> Any:
    """GET (no payload) or POST JSON to a control API; the decoded answer."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers=JSON_HEADERS if data else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def set_ecs_faults(ecs_url: str, **changes: float) -> None:
    http_json(f"{ecs_url}/_emulator/faults", dict(changes))


def ecs_calls(ecs_url: str) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = http_json(f"{ecs_url}/_emulator/calls")
    return calls


def reset_ecs_calls(ecs_url: str) -> None:
    http_json(f"{ecs_url}/_emulator/reset-calls", {})


def new_response_url(slack_url: str, *, channel_id: str = CHANNEL_ID, user_id: str = USER_ID) -> str:
    answer = http_json(f"{slack_url}/_emulator/response-url", {"channel_id": channel_id, "user_id": user_id})
    return str(answer["url"])


def slack_calls(slack_url: str) -> list[dict[str, Any]]:
    answer = http_json(f"{slack_url}/_emulator/calls")
    calls: list[dict[str, Any]] = answer["calls"]
    return calls


def url_id(response_url: str) -> str:
    """The id the Slack emulator records a response_url's posts under."""
    return response_url.rstrip("/").rsplit("/", 1)[-1]


def response_url_posts(slack_url: str, response_url: str) -> list[dict[str, Any]]:
    """The accepted posts to one response_url."""
    wanted = url_id(response_url)
    return [
        call
        for call in slack_calls(slack_url)
        if call["method"] == RESPONSE_URL_METHOD and call["args"].get("url_id") == wanted and call["ok"]
    ]


# --- measured children --------------------------------------------------------------------------------


def run_child(module: str, args: Sequence[str], *, env: dict[str, str], timeout: float = CHILD_TIMEOUT_S) -> Any:
    """Run `python -m module args` in a fresh interpreter; its result line, decoded."""
    started = time.monotonic()
    completed = subprocess.run(
        [PYTHON, "-m", module, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    tail = completed.stderr[-STDERR_TAIL_CHARS:]
    raise BenchError(
        f"{module} {' '.join(args)} gave no result (exit {completed.returncode}, "
        f"{time.monotonic() - started:.1f} s):\n{tail}"
    )
