"""The app request signature (DESIGN §3): how Productive's backend proves a request is its own.

signature = hex HMAC-SHA256(secret, timestamp + "\\n" + METHOD + "\\n" + path?query + "\\n" + raw body)"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

MAX_CLOCK_SKEW_SECONDS = 300


def app_signature(secret: str, timestamp: str, method: str, path_and_query: str, body: bytes) -> str:
    message = b"\n".join([timestamp.encode(), method.upper().encode(), path_and_query.encode("utf-8"), body])
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_problem(
    *,
    secrets: Iterable[str],
    timestamp: str | None,
    signature: str | None,
    method: str,
    path_and_query: str,
    body: bytes,
    now_epoch: float,
) -> str | None:
    """None when the request is signed by one of `secrets` and fresh; otherwise why it is not."""
    if not timestamp or not signature:
        return "missing signature headers"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "malformed timestamp"
    if abs(now_epoch - sent_at) > MAX_CLOCK_SKEW_SECONDS:
        return "timestamp outside the allowed window"
    for secret in secrets:
        if secret and hmac.compare_digest(
            app_signature(secret, timestamp, method, path_and_query, body), signature.strip().lower()
        ):
            return None
    return "signature does not match"


def intuit_webhook_signature(verifier_token: str, body: bytes) -> str:
    """Intuit's `intuit-signature`: base64 HMAC-SHA256 of the raw body keyed with the verifier token."""
    import base64

    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")
