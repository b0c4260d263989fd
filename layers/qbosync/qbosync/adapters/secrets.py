"""Secrets Manager: one secret per connection (QuickBooks tokens and the Productive API token),
and the two app-level secrets (Intuit app credentials, the app request signing secret)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from qbosync.domain.connection import ConnectionSecret

APP_SECRET_MAX_AGE_SECONDS = 300


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class SecretsManagerTokenVault:
    """Connection secrets, always read fresh: tokens rotate, and a stale read is how refresh races start."""

    def __init__(self, client: Any, prefix: str):
        self._client = client
        self._prefix = prefix

    def _name(self, connection_id: str) -> str:
        return f"{self._prefix}{connection_id}"

    def read(self, connection_id: str) -> ConnectionSecret | None:
        try:
            value = self._client.get_secret_value(SecretId=self._name(connection_id))
        except ClientError as error:
            if _error_code(error) in {"ResourceNotFoundException", "InvalidRequestException"}:
                return None
            raise
        return ConnectionSecret.from_json_dict(json.loads(value["SecretString"]))

    def write(self, connection_id: str, secret: ConnectionSecret) -> None:
        payload = json.dumps(secret.to_json_dict())
        try:
            self._client.put_secret_value(SecretId=self._name(connection_id), SecretString=payload)
        except ClientError as error:
            if _error_code(error) != "ResourceNotFoundException":
                raise
            self._client.create_secret(
                Name=self._name(connection_id),
                SecretString=payload,
                Description="qbosync connection credentials (QuickBooks tokens, Productive API token)",
            )

    def delete(self, connection_id: str) -> None:
        try:
            # No recovery window: a reconnect must be able to create the same name right away.
            self._client.delete_secret(SecretId=self._name(connection_id), ForceDeleteWithoutRecovery=True)
        except ClientError as error:
            if _error_code(error) != "ResourceNotFoundException":
                raise


@dataclass(frozen=True)
class IntuitAppCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    webhook_verifier_token: str = field(repr=False)
    redirect_uri: str


class AppSecrets:
    """The app-level secrets, cached for a few minutes per execution environment (Powertools)."""

    def __init__(self, intuit_secret_id: str, client: Any | None = None):
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        self._provider = SecretsProvider(boto3_client=client) if client is not None else SecretsProvider()
        self._intuit_secret_id = intuit_secret_id

    def intuit(self, *, force_fetch: bool = False) -> IntuitAppCredentials:
        """The Intuit app credentials; force_fetch bypasses the cache (a verifier token that no longer
        matches may have been rotated)."""
        data = self._json(self._intuit_secret_id, force_fetch=force_fetch)
        return IntuitAppCredentials(
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            webhook_verifier_token=data.get("webhook_verifier_token", ""),
            redirect_uri=data["redirect_uri"],
        )

    def signing_secrets(self, secret_id: str, *, force_fetch: bool = False) -> list[str]:
        """The app signing secret `secret_id` (only the app routes have one): current first, then the
        previous one (kept during a rotation)."""
        data = self._json(secret_id, force_fetch=force_fetch)
        return [value for value in (data.get("current"), data.get("previous")) if value]

    def _json(self, secret_id: str, *, force_fetch: bool) -> dict[str, Any]:
        value = self._provider.get(
            secret_id, transform="json", max_age=APP_SECRET_MAX_AGE_SECONDS, force_fetch=force_fetch
        )
        if not isinstance(value, dict):
            raise TypeError("app secret is not a JSON object")
        return value
