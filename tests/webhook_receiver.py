"""A real HTTP receiver on 127.0.0.1 that records the JSON alerts posted to it (a stand-in for Slack/Teams)."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .local_server import LocalServer


class WebhookReceiver(LocalServer):
    """`redirect_to` (a base URL): answer every POST with a 307 to the same path there instead. `hang` (seconds):
    take the alert, then say nothing for that long (a webhook that accepts and never answers)."""

    def __init__(self, redirect_to: str | None = None, hang: float = 0):
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if hang:
                    time.sleep(hang)
                    return
                if redirect_to:
                    self.send_response(307)
                    self.send_header("Location", f"{redirect_to}{self.path}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                receiver.received.append({"content_type": self.headers.get("Content-Type"), **json.loads(body)})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self._serve(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alerts"
