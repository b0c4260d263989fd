"""Reading API Gateway HTTP API events (payload format 2.0) where no resolver does it for us."""

from __future__ import annotations

import base64
import binascii
from typing import Any


def header(event: dict[str, Any], name: str) -> str | None:
    """A request header by its lower-case name (header names are case-insensitive)."""
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def exact_body(event: dict[str, Any]) -> bytes | None:
    """The body as sent, byte for byte, for a signature over it; None if API Gateway's base64 is not
    valid. A text body keeps whatever it holds (lone surrogates too): the signature decides."""
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return str(body).encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None
