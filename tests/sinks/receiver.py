"""A real webhook receiver on loopback: checks signatures and answers from a script."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from andon.sinks.webhook import verify_signature

SECRET = b"test-signing-secret"


class Receiver:
    """A real HTTP server on loopback that checks signatures and answers from a script."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers  # statuses to answer, in order; then 200
        self.seen: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                problem = verify_signature(SECRET, headers, body,
                                           now_s=int(headers["X-Andon-Timestamp"]))
                with receiver.lock:
                    receiver.seen.append({"headers": headers, "body": body,
                                          "problem": problem})
                    status = receiver.answers.pop(0) if receiver.answers else 200
                if problem is not None:
                    status = 401
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
