"""The emulator over real HTTP: a stdlib ThreadingHTTPServer on a background thread."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from emulators.ecs.accounts import AccountTenancy
from emulators.ecs.actions import MAX_PAGE_SIZE, STRICT_LISTING
from emulators.ecs.auth import Authenticator
from emulators.ecs.clock import TaskClock, utc_now
from emulators.ecs.control import CONTROL_PREFIX, handle_control
from emulators.ecs.faults import FaultConfig
from emulators.ecs.records import CallLog, RecordedCall
from emulators.ecs.regions import resolve_regions
from emulators.ecs.request import parse_request
from emulators.ecs.seed import load_seed
from emulators.ecs.service import EcsService
from emulators.ecs.store import TaskStore
from emulators.serving import PromptlyStoppedHTTPServer
from emulators.sts.sessions import SessionRegistry

DEFAULT_CREDENTIALS: Mapping[str, str] = {"demo-access-key-id": "demo-access-key-secret"}
CONTROL_CONTENT_TYPE = "application/json;charset=utf-8"
# strict | lenient: the listing an emulator started without an explicit `listing` uses.
LISTING_ENV = "ECS_EMULATOR_LISTING"
# Idle keep-alive connections are closed after this long, so handler threads do not pile up.
CONNECTION_IDLE_TIMEOUT_S = 30.0
_STOP_POLL_S = 0.5


class _Server(PromptlyStoppedHTTPServer):
    # The default backlog of 5 drops bursts of parallel connects (multi-region queries): SYN retry = 1 s.
    request_queue_size = 128
    emulator: EcsEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout) closes the socket before we answer: expected under test.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoint
    timeout = CONNECTION_IDLE_TIMEOUT_S
    # Headers and body go out in separate writes; without this, Nagle plus delayed ACKs add ~40 ms each.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: the call log is the record; stderr noise would drown test output.
        return

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if path.startswith(CONTROL_PREFIX):
            control = handle_control(emulator, self.command, path, body)
            self._write(control.status, CONTROL_CONTENT_TYPE, control.body(), {})
            return
        request = parse_request(self.command, self.path, dict(self.headers.items()), body)
        answer = emulator.service.handle(request)
        if answer.latency_s > 0:
            emulator.sleep(answer.latency_s)
        if answer.rendered is None:
            self.close_connection = True  # drop: no status line, no body
            return
        rendered = answer.rendered
        self._write(rendered.status, rendered.content_type, rendered.body, rendered.headers)

    def _write(self, status: int, content_type: str, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class EcsEmulator:
    """An ECS endpoint on loopback serving DescribeTasks, DescribeTaskAttribute, CancelTask, DescribeRegions."""

    def __init__(
        self,
        *,
        seed: list[dict[str, Any]] | None = None,
        seed_file: Path | None = None,
        credentials: Mapping[str, str] | None = None,
        sts_tokens: Mapping[str, str] | None = None,
        clock: TaskClock | None = None,
        request_clock: Callable[[], datetime] | None = None,
        faults: FaultConfig | None = None,
        regions: Sequence[str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        sessions: SessionRegistry | None = None,
        account_seeds: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        listing: str | None = None,
        page_size_cap: int = MAX_PAGE_SIZE,
        users: Mapping[str, str] | None = None,
    ) -> None:
        """`listing`: how DescribeTasks reads "no TaskStatus": "strict" (the API page: only Finished, Processing
        and Failed tasks; the default) or "lenient" (every task); None reads ECS_EMULATOR_LISTING, else strict.
        `users`: which RAM user holds which of `credentials`' AccessKeys (each call records its caller, as
        ActionTrail would: a RAM user, a role's session for STS credentials, else the account's root)."""
        if seed is not None and seed_file is not None:
            raise ValueError("give seed or seed_file, not both")
        self.clock = clock or TaskClock()
        self.faults = faults or FaultConfig()
        self.sleep = sleep
        self._calls = CallLog()
        region_table = resolve_regions(regions)
        self._store = TaskStore(region_table)
        now = self.clock.now()
        for entry in seed if seed is not None else load_seed(seed_file):
            self._store.add_seed(entry, now)
        # Other accounts: credentials the STS emulator issued into `sessions` see their own tasks.
        self.accounts = (
            AccountTenancy(sessions, region_table, request_clock or utc_now) if sessions is not None else None
        )
        if self.accounts is not None:
            self.accounts.seed(account_seeds or {}, now)
        elif account_seeds:
            raise ValueError("account_seeds need sessions (the STS emulator's SessionRegistry)")
        self.service = EcsService(
            store=self._store,
            regions=region_table,
            authenticator=Authenticator(
                credentials if credentials is not None else DEFAULT_CREDENTIALS,
                sts_tokens or {},
                request_clock or utc_now,
            ),
            clock=self.clock,
            faults=lambda: self.faults,
            calls=self._calls,
            request_clock=request_clock or utc_now,
            accounts=self.accounts,
            listing=listing or os.environ.get(LISTING_ENV) or STRICT_LISTING,
            page_size_cap=page_size_cap,
            users=users,
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    # --- lifecycle --------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._server is not None:
            raise RuntimeError("emulator already started")
        server = _Server((host, port), _Handler)
        server.emulator = self
        self._server = server
        self._stopped.clear()
        self._thread = threading.Thread(target=server.serve_forever, name="ecs-emulator", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = None
        self._thread = None
        self._stopped.set()

    def serve_forever(self) -> None:
        """Block until stop() or Ctrl-C (for `ecs-tasks-dev emulator --port N`); starts if needed."""
        if self._server is None:
            self.start()
        try:
            while not self._stopped.wait(_STOP_POLL_S):
                pass
        except KeyboardInterrupt:
            self.stop()

    def __enter__(self) -> EcsEmulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- state ------------------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        """A snapshot of every ECS request so far, oldest first."""
        return self._calls.snapshot()

    def reset_calls(self) -> None:
        self._calls.clear()

    def add_task(self, **fields: Any) -> str:
        """Add a task (same fields as a seed entry); returns its TaskId."""
        return self._store.add_seed(fields, self.clock.now()).task_id

    def advance(self, seconds: float) -> datetime:
        self.clock.advance(seconds)
        return self.clock.now()

    def task_now(self) -> datetime:
        return self.clock.now()
