from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from qbosync.domain.signing import (
    app_signature,
    intuit_webhook_signature,
    replay_digest,
    replay_seal_key,
    signature_problem,
)

NOW = 1_800_000_000


def check(**overrides: object) -> str | None:
    args: dict[str, Any] = {
        "secrets": ["current-secret", "previous-secret"],
        "timestamp": str(NOW),
        "signature": app_signature("current-secret", str(NOW), "POST", "/connections?x=1", b'{"a":1}'),
        "method": "POST",
        "path_and_query": "/connections?x=1",
        "body": b'{"a":1}',
        "now_epoch": NOW,
    }
    args.update(overrides)
    return signature_problem(**args)


def test_signature_is_hmac_of_the_documented_message() -> None:
    expected = hmac.new(b"k", b"123\nGET\n/p?q=1\nbody", hashlib.sha256).hexdigest()
    assert app_signature("k", "123", "get", "/p?q=1", b"body") == expected


def test_valid_signature_passes() -> None:
    assert check() is None


def test_previous_secret_still_works_during_rotation() -> None:
    sig = app_signature("previous-secret", str(NOW), "POST", "/connections?x=1", b'{"a":1}')
    assert check(signature=sig) is None


def test_tampered_body_method_path_or_query_fail() -> None:
    assert check(body=b'{"a":2}') == "signature does not match"
    assert check(method="PUT") == "signature does not match"
    assert check(path_and_query="/connections?x=2") == "signature does not match"


def test_missing_malformed_and_stale_timestamps_fail() -> None:
    assert check(timestamp=None) == "missing signature headers"
    assert check(signature=None) == "missing signature headers"
    assert check(timestamp="soon") == "malformed timestamp"
    assert check(now_epoch=NOW + 301) == "timestamp outside the allowed window"
    assert check(now_epoch=NOW - 301) == "timestamp outside the allowed window"
    assert check(now_epoch=NOW + 299) is None


def test_unknown_secret_fails() -> None:
    assert check(secrets=["other"]) == "signature does not match"


def test_intuit_webhook_signature_is_base64_hmac_of_raw_body() -> None:
    digest = hmac.new(b"verifier", b'{"x": 1}', hashlib.sha256).digest()
    assert intuit_webhook_signature("verifier", b'{"x": 1}') == base64.b64encode(digest).decode()


def test_timestamps_are_ascii_digits_only() -> None:
    for odd in (str(NOW).translate({ord(d): 0x0660 + int(d) for d in "0123456789"}), f" {NOW} ", f"{NOW:_}", f"+{NOW}"):
        signature = app_signature("current-secret", odd, "POST", "/connections?x=1", b'{"a":1}')
        assert check(timestamp=odd, signature=signature) == "malformed timestamp", odd


def test_a_signature_with_non_ascii_characters_does_not_match() -> None:
    assert check(signature="é" * 64) == "signature does not match"


def test_the_idempotency_key_is_signed_on_its_own_line_before_the_body() -> None:
    expected = hmac.new(b"k", b"123\nPOST\n/p\nkey-1\nbody", hashlib.sha256).hexdigest()
    assert app_signature("k", "123", "POST", "/p", b"body", idempotency_key="key-1") == expected
    # Without the header the message is unchanged.
    assert (
        app_signature("k", "123", "POST", "/p", b"body")
        == hmac.new(b"k", b"123\nPOST\n/p\nbody", hashlib.sha256).hexdigest()
    )


def test_the_idempotency_key_cannot_be_changed_added_or_dropped() -> None:
    keyed = app_signature("current-secret", str(NOW), "POST", "/connections?x=1", b'{"a":1}', idempotency_key="k1")
    assert check(signature=keyed, idempotency_key="k1") is None
    assert check(signature=keyed, idempotency_key="k2") == "signature does not match"
    assert check(signature=keyed) == "signature does not match"
    assert check(idempotency_key="k1") == "signature does not match"


def test_the_replay_name_is_a_hash_and_ignores_case_and_spaces() -> None:
    signature = app_signature("current-secret", str(NOW), "POST", "/connections", b"{}")
    assert replay_digest(signature) == replay_digest(f"  {signature.upper()} ")
    assert signature not in replay_digest(signature)
    assert replay_digest(signature) != replay_digest(
        app_signature("current-secret", str(NOW + 1), "POST", "/connections", b"{}")
    )
    assert replay_seal_key(signature) != bytes.fromhex(replay_digest(signature))
