"""One Function Compute instance, in a fresh interpreter: `python -m bench.fc_instance QUEUE_DELAY_S [--count-db]`.

The FC stand-in (`emulators.fc_server`, standard library only) serves the HTTP trigger and `InvokeFunction` on
loopback and hands both to `functions.http.handler`, which is imported by the first request, as on a cold
instance. An async invocation waits QUEUE_DELAY_S in the queue before it runs (Function Compute queues async
invocations; the stand-in alone would run them at once). FC_ENDPOINT is this stand-in, so the deferred hop is
a real, signed, separate invocation.

Prints `{"url": ...}` once it listens, serves until its standard input closes, then prints its result line: the
invocations it ran (HTTP and async) and, with `--count-db`, the SQL statements sent to the store (a SQLAlchemy
event listener on every Engine, installed before the first request; without it, SQLAlchemy is never imported
here before the handler imports it, and the result says whether it did).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

from bench.env import ACCESS_KEY_ID, ACCESS_KEY_SECRET, FC_FUNCTION_NAME, emit_result
from emulators.fc_server import FcServer, Invocation

ENV_FC_ENDPOINT = "FC_ENDPOINT"


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.invocations = 0
        self.statements = 0

    def invoked(self) -> None:
        with self._lock:
            self.invocations += 1

    def statement(self, *_: Any) -> None:
        with self._lock:
            self.statements += 1


class QueuedFcServer(FcServer):
    """The stand-in with Function Compute's async queue in front of each async invocation."""

    queue_delay_s: float = 0.0

    def _run_async(self, record: Invocation) -> None:
        time.sleep(self.queue_delay_s)
        super()._run_async(record)


def count_statements(counters: Counters) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "before_cursor_execute", counters.statement)


def main(argv: list[str]) -> None:
    queue_delay_s, count_db = float(argv[0]), "--count-db" in argv[1:]
    counters = Counters()
    if count_db:
        count_statements(counters)

    def handler(event: bytes, context: Any) -> dict[str, Any]:
        counters.invoked()
        from functions import http  # the first request pays for the import, as on a cold instance

        return http.handler(event, context)

    server = QueuedFcServer(
        handler=handler, function_name=FC_FUNCTION_NAME, credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}
    )
    server.queue_delay_s = queue_delay_s
    url = server.start()
    os.environ[ENV_FC_ENDPOINT] = url  # read by the handler's settings on the first request
    print(json.dumps({"url": url}), flush=True)
    sys.stdin.read()  # returns at EOF: the benchmark is done with this instance
    server.wait_for_async()
    server.stop()
    emit_result(
        {
            "invocations": counters.invocations,
            "async_invocations": len(server.invocations),
            "statements": counters.statements if count_db else None,
            "sqlalchemy_imported": "sqlalchemy" in sys.modules,
        }
    )


if __name__ == "__main__":
    main(sys.argv[1:])
