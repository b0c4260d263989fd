"""The Idempotency-Key header (README "HTTP API"): a request repeated with the same key gets the first
response for a day; the same key with another body is refused (422 `idempotency_key_reused`); while
the first still runs, 409 `request_in_progress`.

Powertools Idempotency keeps the records in the single table (docs/architecture.md "Data model"),
named after the function that runs the request, so that function stays where it is."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, cast

from qbosync.domain.errors import Conflict, InvalidInput

Request = dict[str, Any]
KEEP_SECONDS = 24 * 3600


class IdempotencyKeyed:
    """Runs `run(request=...)` once per key: the fields named by `key_jmespath` of the request, which
    include its `idempotency_key`; `body_jmespath` names what must be the same when the key repeats.
    Built on first use (Powertools Idempotency imports boto3); `persistence_store` builds the layer."""

    def __init__(
        self,
        run: Callable[[Request], Request],
        persistence_store: Callable[[], Any],
        *,
        key_jmespath: str,
        body_jmespath: str,
    ):
        self._run = run
        self._persistence_store = persistence_store
        self._key_jmespath = key_jmespath
        self._body_jmespath = body_jmespath

    @cached_property
    def _idempotent(self) -> tuple[Any, Callable[..., Request]]:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

        config = IdempotencyConfig(
            event_key_jmespath=self._key_jmespath,
            payload_validation_jmespath=self._body_jmespath,
            expires_after_seconds=KEEP_SECONDS,
        )
        decorate = idempotent_function(
            data_keyword_argument="request", config=config, persistence_store=self._persistence_store()
        )
        return config, cast(Callable[..., Request], decorate(self._run))

    def __call__(self, request: Request, idempotency_key: str, lambda_context: Any) -> Request:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        config, run = self._idempotent
        # In-progress records expire with this invocation, so a crashed attempt does not block retries.
        config.register_lambda_context(lambda_context)
        try:
            return run(request={**request, "idempotency_key": idempotency_key})
        except IdempotencyAlreadyInProgressError:
            raise Conflict(
                "A request with this Idempotency-Key is still running; retry in a moment.",
                code="request_in_progress",
                details={"retry_after_seconds": 2},
            ) from None
        except IdempotencyValidationError:
            raise InvalidInput(
                "This Idempotency-Key was already used with a different request body.", code="idempotency_key_reused"
            ) from None
