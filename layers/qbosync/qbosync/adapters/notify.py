"""Reconnect warnings to Productive's backend (docs/architecture.md "Connection health"): a POST of the
warning's JSON to NOTIFY_URL, signed like the app requests Productive's backend sends us, the other way
round (README "HTTP API"): `X-Qbosync-Timestamp` and `X-Qbosync-Signature` = hex HMAC-SHA256 over
timestamp, `POST`, the URL's path and query, the `Idempotency-Key` line (the warning's id) and the body,
keyed with the current value of the notify signing secret.

A connection error, a timeout, a 429 or a 5xx is retried (tenacity, a fresh timestamp and signature each
time, the same body and Idempotency-Key); any other 4xx is a refusal and not retried. Either way a
warning not delivered raises NotificationFailed and is sent again by the next run."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from qbosync.domain.health import NotificationFailed, ReconnectWarning
from qbosync.domain.signing import app_signature

TIMESTAMP_HEADER = "X-Qbosync-Timestamp"
SIGNATURE_HEADER = "X-Qbosync-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
ATTEMPTS = 3


class _Transient(Exception):
    """The receiver may accept the same request a moment later."""


def _retryable(error: BaseException) -> bool:
    return isinstance(error, _Transient | httpx.TransportError)


class HttpReconnectNotifier:
    def __init__(
        self,
        *,
        http: httpx.Client,
        url: str,
        signing_secret: Callable[[], str],
        now_epoch: Callable[[], float],
        retry_wait_max_seconds: float = 2.0,
    ):
        """`signing_secret`: the current notify signing key (read when a warning is sent, so a rotated
        secret is picked up); `now_epoch`: the clock the timestamp comes from."""
        self._http = http
        self._url = url
        parts = urlsplit(url)
        self._path_and_query = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._signing_secret = signing_secret
        self._now_epoch = now_epoch
        self._retry_wait_max = retry_wait_max_seconds

    def send(self, warning: ReconnectWarning) -> None:
        body = json.dumps(warning.payload(), separators=(",", ":"), sort_keys=True).encode("utf-8")
        secret = self._signing_secret()
        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            wait=wait_random_exponential(multiplier=0.2, max=self._retry_wait_max),
            stop=stop_after_attempt(ATTEMPTS),
        )
        try:
            retrying(self._post, body, secret, warning.warning_id)
        except RetryError as exc:
            raise NotificationFailed(f"NOTIFY_URL did not accept the warning after {ATTEMPTS} attempts.") from exc

    def _post(self, body: bytes, secret: str, warning_id: str) -> None:
        timestamp = str(int(self._now_epoch()))
        signature = app_signature(secret, timestamp, "POST", self._path_and_query, body, idempotency_key=warning_id)
        response = self._http.post(
            self._url,
            content=body,
            headers={
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature,
                IDEMPOTENCY_HEADER: warning_id,
            },
        )
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise NotificationFailed(f"NOTIFY_URL refused the warning with HTTP {response.status_code}.")
