"""Signed writes run once (README "HTTP API"): the request signature is an implicit idempotency key.

A write (POST, PUT, PATCH, DELETE) whose signed bytes were seen before within their window does not
run again: it gets the first response, so a client that retries after a lost answer gets what it
missed. While the first one is still running, a repeat gets 409 `request_in_progress` with a retry
hint. Only successful responses are kept: an error wrote nothing, so a repeat may run again.

Powertools Idempotency keeps the records in the single table (TTL on expires_at). A record is named
by a hash of the signature and holds the response sealed (AES-GCM) with a key derived from the
signature, so the table never holds a signature nor a response in clear: POST /connections answers
with an authorize_url whose state would complete an authorization.

Routes that protect themselves with an `Idempotency-Key` record (the copy route) are left to it when
the request carries the key, which is signed: one record per request either way."""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from qbosync.api.errors import raw_error_response
from qbosync.api.events import header
from qbosync.domain.signing import MAX_CLOCK_SKEW_SECONDS, replay_digest, replay_seal_key

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A signature is accepted while its timestamp is within 300 s of our clock either way, so it can be
# first seen up to 600 s before its window closes; the margin covers clocks of other instances.
RECORD_SECONDS = 2 * MAX_CLOCK_SKEW_SECONDS + 300
IN_PROGRESS_RETRY_SECONDS = 2

logger = logging.getLogger(__name__)


class _NotKept(Exception):
    """Carries a response that is not stored (an error): Powertools then deletes the record."""

    def __init__(self, response: dict[str, Any]):
        super().__init__("response not kept")
        self.response = response


def _seal(key: bytes, digest: str, response: dict[str, Any]) -> dict[str, str]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, json.dumps(response).encode("utf-8"), digest.encode("ascii"))
    return {"sealed": base64.b64encode(nonce + sealed).decode("ascii")}


def _unseal(key: bytes, digest: str, stored: dict[str, str]) -> dict[str, Any]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.b64decode(stored["sealed"])
    response: dict[str, Any] = json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], digest.encode("ascii")))
    return response


class ReplayGuard:
    """Wraps a handler invocation so a repeated signed write is answered from its record.

    persistence_store: builds a Powertools persistence layer for this guard alone (Powertools
        configures a layer once, for the first config it sees).
    keyed_routes: route keys ("POST /a/{b}") that keep their own Idempotency-Key record; a request
        to them that carries the header is passed through."""

    def __init__(self, persistence_store: Callable[[], BasePersistenceLayer], *, keyed_routes: Iterable[str] = ()):
        self._persistence_store = persistence_store
        self._keyed_routes = frozenset(keyed_routes)

    def applies_to(self, event: dict[str, Any]) -> bool:
        method = str((event.get("requestContext") or {}).get("http", {}).get("method", "GET")).upper()
        if method not in WRITE_METHODS:
            return False
        return not (event.get("routeKey") in self._keyed_routes and header(event, "idempotency-key") is not None)

    @cached_property
    def _idempotent(self) -> tuple[Any, Callable[..., dict[str, str]]]:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

        config = IdempotencyConfig(
            event_key_jmespath="replay", expires_after_seconds=RECORD_SECONDS, raise_on_no_idempotency_key=True
        )

        def respond(*, request: dict[str, str], run: Callable[[], dict[str, str]]) -> dict[str, str]:
            return run()

        decorate = idempotent_function(
            data_keyword_argument="request", config=config, persistence_store=self._persistence_store()
        )
        return config, decorate(respond)

    def run(
        self, event: dict[str, Any], context: Any, signature: str, handler: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyInconsistentStateError,
            IdempotencyPersistenceLayerError,
        )

        digest, key = replay_digest(signature), replay_seal_key(signature)
        config, respond = self._idempotent
        # In-progress records expire with this invocation, so a crashed attempt does not block a retry.
        config.register_lambda_context(context)
        answered: list[dict[str, Any]] = []

        def run() -> dict[str, str]:
            response = handler()
            answered.append(response)
            if not isinstance(response, dict) or not 200 <= int(response.get("statusCode", 500)) < 300:
                raise _NotKept(response)
            return _seal(key, digest, response)

        try:
            stored = respond(request={"replay": digest}, run=run)
        except _NotKept as not_kept:
            return not_kept.response
        except IdempotencyAlreadyInProgressError:
            return raw_error_response(
                409,
                "request_in_progress",
                "This signed request is still running; retry in a moment.",
                details={"retry_after_seconds": IN_PROGRESS_RETRY_SECONDS},
                headers={"Retry-After": str(IN_PROGRESS_RETRY_SECONDS)},
            )
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as error:
            logger.warning("replay record unavailable", extra={"error_class": type(error).__name__})
            if answered:  # it ran; only keeping its answer failed
                return answered[0]
            return raw_error_response(
                503,
                "upstream_unavailable",
                "We could not record this request; retry in a moment.",
                details={"service": "qbosync", "retry_after_seconds": IN_PROGRESS_RETRY_SECONDS},
                headers={"Retry-After": str(IN_PROGRESS_RETRY_SECONDS)},
            )
        if answered:
            return answered[0]
        logger.info("repeated signed request answered from its record")
        return _unseal(key, digest, stored)
