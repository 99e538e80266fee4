"""A real HTTP server on loopback for the length of a `with` block: the base of the tests' fake upstreams."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class LocalServer:
    server: ThreadingHTTPServer

    def _serve(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        server.daemon_threads = True
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
