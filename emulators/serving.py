"""The emulators' HTTP server: socketserver's, with a stop that takes effect at once.

socketserver's `serve_forever()` notices `shutdown()` only when its select times out (`poll_interval`), so
every stop waited up to that long; a test suite starts and stops thousands of emulators. This loop also
watches a socket pair that `shutdown()` writes to: it wakes the moment it is asked to stop, and is not woken
otherwise (no polling while idle). Requests are handled exactly as socketserver handles them.
"""

from __future__ import annotations

import selectors
import socket
import threading
from http.server import ThreadingHTTPServer
from typing import Any

_WAKE = b"\0"


class PromptlyStoppedHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer served once: `shutdown()` returns as soon as the accept loop has ended."""

    daemon_threads = True
    # handle_request()'s own wait (socketserver's public `timeout`): should a client go away between the
    # select above and the accept, it gives up after this instead of blocking, and shutdown() is not held up.
    timeout = 0.1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Before binding: socketserver calls server_close() when the bind fails (a busy port).
        self._wake_read, self._wake_write = socket.socketpair()
        self._state = threading.Lock()
        self._serving = False
        self._stop_requested = threading.Event()
        self._loop_ended = threading.Event()
        super().__init__(*args, **kwargs)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until `shutdown()`; `poll_interval` is accepted for socketserver's signature and unused."""
        with self._state:
            if self._stop_requested.is_set():
                return  # stopped before the loop began (its sockets may be closed already)
            self._serving = True
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self, selectors.EVENT_READ)
                selector.register(self._wake_read, selectors.EVENT_READ)
                while not self._stop_requested.is_set():
                    ready = {key.fileobj for key, _ in selector.select()}
                    if self._stop_requested.is_set():
                        break
                    if self in ready:
                        self.handle_request()  # the socket is readable: accepts at once, as serve_forever does
                    self.service_actions()
        finally:
            self._loop_ended.set()

    def shutdown(self) -> None:
        """Stop `serve_forever()` (from another thread) and wait until it has returned."""
        with self._state:
            self._stop_requested.set()
            serving = self._serving
        if serving:
            self._wake_write.send(_WAKE)
            self._loop_ended.wait()

    def server_close(self) -> None:
        super().server_close()
        self._wake_read.close()
        self._wake_write.close()
