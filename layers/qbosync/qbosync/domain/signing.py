"""The app request signature (README "HTTP API"; docs/architecture.md "HTTP edge"): how Productive's backend
proves a request is its own.

signature = hex HMAC-SHA256(secret, timestamp + "\\n" + METHOD + "\\n" + path?query + "\\n" + raw body)

A request that carries an `Idempotency-Key` header signs it too, on its own line before the body:
timestamp + "\\n" + METHOD + "\\n" + path?query + "\\n" + key + "\\n" + raw body. (A request without
the header whose body starts with the key's line has the same signature; for any key that is not blank
such a body is not JSON, and every body must be: 400.) Identical signed bytes are one request:
`replay_digest` names it (the handlers answer a repeated write with the first response)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

MAX_CLOCK_SKEW_SECONDS = 300


def app_signature(
    secret: str,
    timestamp: str,
    method: str,
    path_and_query: str,
    body: bytes,
    *,
    idempotency_key: str | None = None,
) -> str:
    parts = [timestamp.encode(), method.upper().encode(), path_and_query.encode("utf-8")]
    if idempotency_key is not None:
        parts.append(idempotency_key.encode("utf-8"))
    message = b"\n".join([*parts, body])
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def normalized_signature(signature: str) -> str:
    """The form signatures are compared in (hex is case-insensitive, surrounding space is dropped)."""
    return signature.strip().lower()


def replay_digest(signature: str) -> str:
    """The name of one signed request: a hash of its signature, never the signature itself (which
    would let whoever reads it send the request again within its window)."""
    return hashlib.sha256(b"qbosync replay id\n" + normalized_signature(signature).encode("utf-8")).hexdigest()


def replay_seal_key(signature: str) -> bytes:
    """A key only the holder of the signed request can derive: stored responses are sealed with it."""
    return hashlib.sha256(b"qbosync replay seal\n" + normalized_signature(signature).encode("utf-8")).digest()


def signature_problem(
    *,
    secrets: Iterable[str],
    timestamp: str | None,
    signature: str | None,
    method: str,
    path_and_query: str,
    body: bytes,
    now_epoch: float,
    idempotency_key: str | None = None,
) -> str | None:
    """None when the request is signed by one of `secrets` and fresh; otherwise why it is not."""
    if not timestamp or not signature:
        return "missing signature headers"
    # ASCII digits only: int() would also take spaces, underscores and other scripts' digits.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "malformed timestamp"
    if abs(now_epoch - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return "timestamp outside the allowed window"
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a header may carry any).
    sent = normalized_signature(signature).encode("utf-8")
    for secret in secrets:
        if secret and hmac.compare_digest(
            app_signature(secret, timestamp, method, path_and_query, body, idempotency_key=idempotency_key).encode(
                "ascii"
            ),
            sent,
        ):
            return None
    return "signature does not match"


def intuit_webhook_signature(verifier_token: str, body: bytes) -> str:
    """Intuit's `intuit-signature`: base64 HMAC-SHA256 of the raw body keyed with the verifier token."""
    import base64

    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")
