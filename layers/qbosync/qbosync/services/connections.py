"""Connecting a Productive subsidiary to a QuickBooks company, its settings, and disconnecting."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from qbosync.domain.connection import (
    Connection,
    ConnectionSecret,
    ConnectionSettings,
    ConnectionStatus,
    connection_id_for,
    existing,
)
from qbosync.domain.errors import (
    ConnectionNotReady,
    DomainError,
    InvalidInput,
    NotFound,
    QuickBooksFault,
    ReauthorizationRequired,
    UpstreamUnavailable,
)
from qbosync.domain.ports import (
    Clock,
    ConnectionRepository,
    IntuitOAuth,
    OAuthState,
    QuickBooksApiFactory,
    TokenVault,
)
from qbosync.domain.qbo_query import quote_list
from qbosync.services.tokens import StaticAccessToken, TokenService, next_refresh_at

OAUTH_STATE_TTL = timedelta(minutes=10)


def state_digest(state: str) -> str:
    """States are stored hashed: the table never holds a value that would complete an authorization."""
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class StartedConnection:
    connection: Connection
    authorize_url: str


class ConnectionService:
    def __init__(
        self,
        *,
        repository: ConnectionRepository,
        vault: TokenVault,
        oauth: IntuitOAuth,
        quickbooks: QuickBooksApiFactory,
        tokens: TokenService,
        clock: Clock,
    ):
        self._repository = repository
        self._vault = vault
        self._oauth = oauth
        self._quickbooks = quickbooks
        self._tokens = tokens
        self._clock = clock

    # -- connect ---------------------------------------------------------------------------------

    def start(
        self, *, organization_id: str, subsidiary_id: str, productive_api_token: str, return_url: str
    ) -> StartedConnection:
        connection_id = connection_id_for(organization_id, subsidiary_id)
        now = self._clock.now()
        existing = self._repository.get(connection_id)
        if existing is None:
            connection = Connection(
                connection_id=connection_id,
                organization_id=organization_id,
                subsidiary_id=subsidiary_id,
                status=ConnectionStatus.PENDING,
                return_url=return_url,
                created_at=now,
                updated_at=now,
            )
        else:
            status = ConnectionStatus.PENDING if existing.status is ConnectionStatus.DISCONNECTED else None
            connection = existing.with_changes(
                return_url=return_url, updated_at=now, **({"status": status} if status else {})
            )
        stored = self._vault.read(connection_id)
        secret = (
            ConnectionSecret(productive_api_token=productive_api_token, tokens=stored.tokens)
            if stored
            else ConnectionSecret(productive_api_token=productive_api_token)
        )
        # The secret first: a connection item never points at credentials that do not exist.
        self._vault.write(connection_id, secret)
        self._repository.save(connection)
        state = f"{connection_id}.{secrets.token_urlsafe(32)}"
        self._repository.put_oauth_state(
            state_digest(state), OAuthState(connection_id=connection_id, expires_at=now + OAUTH_STATE_TTL)
        )
        return StartedConnection(connection=connection, authorize_url=self._oauth.authorization_url(state))

    def complete_authorization(
        self, *, state: str | None, code: str | None, realm_id: str | None, error: str | None
    ) -> str:
        """Finish the OAuth flow; returns where to send the browser. Raises NotFound when the state
        names no connection at all (there is no return_url to send the browser back to)."""
        connection_id = (state or "").split(".", 1)[0]
        connection = self._repository.get(connection_id) if connection_id else None
        if connection is None or not state:
            raise NotFound("This authorization link is not valid.", code="invalid_state")

        def fail(reason: str) -> str:
            return with_query(connection.return_url, status="error", reason=reason)

        record = self._repository.consume_oauth_state(state_digest(state))
        if record is None or record.connection_id != connection_id:
            return fail("invalid_state")
        if record.expires_at <= self._clock.now():
            return fail("expired_state")
        if error:
            return fail(error if error in {"access_denied", "invalid_scope"} else "authorization_error")
        if not code or not realm_id:
            return fail("missing_code")
        try:
            tokens = self._oauth.exchange_code(code)
        except ReauthorizationRequired:
            return fail("authorization_failed")
        except UpstreamUnavailable:
            return fail("quickbooks_unavailable")
        try:
            profile = self._quickbooks(realm_id, StaticAccessToken(tokens.access_token)).company_profile()
        except (UpstreamUnavailable, QuickBooksFault):
            self._revoke_quietly(tokens.refresh_token)
            return fail("quickbooks_unavailable")
        stored = self._vault.read(connection_id)
        if stored is None:
            self._revoke_quietly(tokens.refresh_token)
            return fail("connection_reset")
        self._vault.write(connection_id, stored.with_tokens(tokens))
        now = self._clock.now()
        self._repository.save(
            connection.with_changes(
                status=ConnectionStatus.CONNECTED,
                status_reason=None,
                company=profile,
                access_expires_at=tokens.access_expires_at,
                refresh_expires_at=tokens.refresh_expires_at,
                refresh_hard_expires_at=tokens.refresh_hard_expires_at,
                next_refresh_at=next_refresh_at(now, tokens),
                updated_at=now,
            )
        )
        return with_query(connection.return_url, status="connected")

    # -- read, settings, disconnect --------------------------------------------------------------

    def get(self, connection_id: str) -> Connection:
        return existing(self._repository.get(connection_id))

    def update_settings(self, connection_id: str, requested: ConnectionSettings) -> ConnectionSettings:
        connection = self.get(connection_id)
        item_ids = requested.referenced_item_ids()
        if item_ids:
            self._check_items_exist(connection, item_ids)
        if requested.sync_payments:
            since = connection.settings.sync_payments_since if connection.settings.sync_payments else None
            since = since or self._clock.now()
        else:
            since = None
        settings = requested.model_copy(update={"sync_payments_since": since})
        self._repository.update_settings(connection_id, settings, self._clock.now())
        return settings

    def disconnect(self, connection_id: str) -> None:
        connection = self.get(connection_id)
        secret = self._vault.read(connection_id)
        if secret is not None and secret.tokens is not None:
            # Revoking the refresh token ends the whole grant at Intuit. If Intuit cannot be
            # reached we change nothing, so the user can try again (UpstreamUnavailable → 503).
            self._oauth.revoke(secret.tokens.refresh_token)
        self._vault.delete(connection_id)
        self._repository.mark_disconnected(connection.connection_id, self._clock.now())

    # -- internals -------------------------------------------------------------------------------

    def _check_items_exist(self, connection: Connection, item_ids: set[str]) -> None:
        if connection.status is not ConnectionStatus.CONNECTED or connection.realm_id is None:
            raise ConnectionNotReady(
                "Item mappings can only be checked once the connection is connected to QuickBooks.",
                details={"status": connection.status.value},
            )
        api = self._quickbooks(connection.realm_id, self._tokens.provider_for(connection.connection_id))
        found = {row["Id"] for row in api.query(f"select * from Item where Id in {quote_list(sorted(item_ids))}")}
        unknown = sorted(item_ids - found, key=lambda value: (len(value), value))
        if unknown:
            raise InvalidInput(
                "Unknown or inactive QuickBooks item id(s): " + ", ".join(unknown) + ".",
                code="unknown_item",
                details={"item_ids": unknown},
            )

    def _revoke_quietly(self, token: str) -> None:
        with contextlib.suppress(DomainError):  # best effort: the grant is unusable to us anyway
            self._oauth.revoke(token)
