"""A real HTTPS webhook receiver on loopback, with a certificate from a test CA (trustme).

It records every request (headers and body) and answers with the status codes queued in
``answers`` (then ``default``). ``stop()`` closes its port (a receiver that is down) and
``start()`` opens the same port again.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    ca: trustme.CA
    ca_path: Path
    port: int = 0
    answers: deque[int] = field(default_factory=deque)
    default: int = 200
    # Decides the status from the body, before `answers` and `default` (None: no opinion).
    decide: Callable[[bytes], int | None] | None = None
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/hook"

    def url_for(self, host: str) -> str:
        return f"https://{host}:{self.port}/hook"

    def start(self) -> None:
        cert = self.ca.issue_cert(
            "127.0.0.1", "localhost", "hooks.example.test", "xn--bcher-kva.example"
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                        )
                    )
                    decided = receiver.decide(body) if receiver.decide else None
                    if decided is not None:
                        status = decided
                    elif receiver.answers:
                        status = receiver.answers.popleft()
                    else:
                        status = receiver.default
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate(list(self.received)):
                    return
            time.sleep(0.05)
        raise AssertionError(f"the receiver did not get what was expected: {self.received}")


def make_receiver(tmp: Path) -> Receiver:
    ca = trustme.CA()
    ca_path = tmp / "webhook-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    receiver = Receiver(ca=ca, ca_path=ca_path)
    receiver.start()
    return receiver
