"""A signed HTTP client for the app-facing API: what Productive's backend does on each call."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from qbosync.domain.signing import app_signature


class AppClient:
    def __init__(self, api_url: str, signing_secret: str, *, timeout: float = 30.0):
        self._secret = signing_secret
        self._timeout = timeout
        # The signatures of the writes this client was answered, so that a write repeated after its
        # answer is signed again (docs/decisions/0007-replay-protection-keyed-on-the-signature.md).
        # Identical writes in flight at once stay identical: that is a duplicate, not a repeat.
        self._answered_writes: set[str] = set()
        self._http = httpx.Client(base_url=api_url.rstrip("/"), timeout=timeout, follow_redirects=False)

    def reopened(self) -> AppClient:
        """A new client to the same API with the same key, usable after this one is closed."""
        return AppClient(str(self._http.base_url), self._secret, timeout=self._timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AppClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw_body: bytes | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        timestamp: int | None = None,
    ) -> httpx.Response:
        body = raw_body if raw_body is not None else (json.dumps(json_body).encode() if json_body is not None else b"")
        url = httpx.URL(path, params=params)
        path_and_query = url.raw_path.decode("ascii")
        sent = {"Content-Type": "application/json"} if body else {}
        sent.update(headers or {})
        if sign:
            # The Idempotency-Key header, when sent, is signed on its own line before the body.
            key = next((value for name, value in sent.items() if name.lower() == "idempotency-key"), None)
            stamp = str(timestamp if timestamp is not None else int(time.time()))
            signature = app_signature(self._secret, stamp, method, path_and_query, body, idempotency_key=key)
            repeatable = timestamp is None and method not in ("GET", "HEAD")
            # The same write again within a second carries the same signature, and the service answers
            # it as a replay of the first: wait for the next second and sign it anew.
            while repeatable and signature in self._answered_writes:
                time.sleep(1.0 - time.time() % 1.0 + 0.001)
                stamp = str(int(time.time()))
                signature = app_signature(self._secret, stamp, method, path_and_query, body, idempotency_key=key)
            signed = {"X-Qbosync-Timestamp": stamp, "X-Qbosync-Signature": signature}
            # Headers the caller set on purpose (a forged signature in a test) win.
            sent = {**signed, **sent}
            response = self._http.request(method, path_and_query, content=body, headers=sent)
            if repeatable:
                self._answered_writes.add(signature)
            return response
        return self._http.request(method, path_and_query, content=body, headers=sent)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json_body=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json_body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)
