"""Productive's backend's end of the reconnect warnings (NOTIFY_URL, docs/architecture.md "Connection
health"), on a free loopback port: it keeps every request, checks its signature like Productive's backend
would (with the notify signing secret's values), and can be told to fail the next requests.

    with NotifyReceiver(secrets=lambda: [stack.notify_signing_secret]) as receiver:
        with stack.function_environment(NOTIFY_URL=receiver.url):
            stack.run_schedule("TokenRefreshFunction")
        receiver.accepted      # the warnings answered 2xx, as parsed JSON
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from qbosync.domain.signing import signature_problem


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int
    signature_problem: str | None  # None: signed with one of the secrets, within the time window

    def json(self) -> Any:
        return json.loads(self.body)


class NotifyReceiver:
    """See the module docstring. `secrets`: the signing secret's values (current, previous); None
    accepts any signature (it is still recorded whether one was given). `now_epoch`: the receiver's clock
    for the signature's time window (a test that moves the service's clock moves this one too)."""

    def __init__(
        self,
        secrets: Callable[[], list[str]] | None = None,
        *,
        path: str = "/qbosync/warnings",
        now_epoch: Callable[[], float] = time.time,
    ) -> None:
        self._secrets = secrets
        self._now_epoch = now_epoch
        self.path = path
        self.requests: list[ReceivedRequest] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the receiver is not running")
        return f"http://127.0.0.1:{self._server.server_port}{self.path}"

    @property
    def accepted(self) -> list[Any]:
        """The bodies answered 2xx, in arrival order."""
        with self._lock:
            return [request.json() for request in self.requests if 200 <= request.status < 300]

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next `count` requests with `status` (before looking at them)."""
        with self._lock:
            self._failures.extend([status] * count)

    def start(self) -> NotifyReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver._answer(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="notify-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> NotifyReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        lower = {name.lower(): value for name, value in headers.items()}
        problem = signature_problem(
            secrets=self._secrets() if self._secrets is not None else [],
            timestamp=lower.get("x-qbosync-timestamp"),
            signature=lower.get("x-qbosync-signature"),
            method=method,
            path_and_query=path,
            body=body,
            now_epoch=self._now_epoch(),
            idempotency_key=lower.get("idempotency-key"),
        )
        with self._lock:
            if self._failures:
                status = self._failures.pop(0)
            elif problem is not None and self._secrets is not None:
                status = 401
            else:
                status = 204
            self.requests.append(ReceivedRequest(method, path, lower, body, status, problem))
        return status
