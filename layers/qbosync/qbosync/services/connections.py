"""Connecting a Productive subsidiary to a QuickBooks company, its settings, and disconnecting."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass

from qbosync.domain import activity
from qbosync.domain.activity import ActivityLog
from qbosync.domain.connection import (
    Connection,
    ConnectionSecret,
    ConnectionSettings,
    ConnectionStatus,
    TokenSet,
    connection_id_for,
    existing,
)
from qbosync.domain.errors import (
    ConnectionNotReady,
    DomainError,
    InvalidInput,
    ReauthorizationRequired,
)
from qbosync.domain.oauth_flow import (
    OAUTH_STATE_TTL,
    AuthorizationNotSaved,
    BrowserCookie,
    InvalidOAuthLink,
    ReturnUrlPolicy,
    browser_routes,
    digest,
    is_cookie_value,
    is_realm_id,
    start_url,
    with_outcome,
)
from qbosync.domain.ports import (
    Clock,
    ConnectionRepository,
    IntuitOAuth,
    OAuthState,
    QuickBooksApi,
    QuickBooksApiFactory,
    TokenVault,
)
from qbosync.domain.qbo_query import quote_list
from qbosync.domain.tracking import uses_tracking
from qbosync.services.tokens import StaticAccessToken, TokenService, next_refresh_at
from qbosync.services.tracking import check_settings, read_tracking

MAX_STATE_LENGTH = 200
# A connection is "using" its QuickBooks company while it may still hold a live grant for it.
_USING_REALM = frozenset({ConnectionStatus.CONNECTED, ConnectionStatus.NEEDS_RECONNECT})


@dataclass(frozen=True)
class StartedConnection:
    connection: Connection
    authorize_url: str


@dataclass(frozen=True)
class BrowserHandoff:
    """What the start page answers: Intuit's consent URL, and the cookie that binds the state to this browser."""

    intuit_url: str
    cookie_value: str
    cookie: BrowserCookie


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
        return_urls: ReturnUrlPolicy,
        activity: ActivityLog,
    ):
        self._return_urls = return_urls
        self._activity = activity
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
        self._return_urls.check(return_url)
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
            digest(state), OAuthState(connection_id=connection_id, expires_at=now + OAUTH_STATE_TTL)
        )
        return StartedConnection(connection=connection, authorize_url=start_url(self._oauth.redirect_uri(), state))

    def begin_authorization(self, *, state: str | None, cookie: str | None) -> BrowserHandoff:
        """The start page: bind the state to this browser's cookie (a fresh one, or the one it already
        holds for this state when it opens the page again) and send it on to Intuit."""
        if not state or len(state) > MAX_STATE_LENGTH:
            raise InvalidOAuthLink("This authorization link is not valid.")
        previous = digest(cookie) if cookie and is_cookie_value(cookie) else None
        browser_secret = secrets.token_urlsafe(32)
        bound = self._repository.bind_oauth_state(digest(state), digest(browser_secret), previous, self._clock.now())
        if bound is None:
            raise InvalidOAuthLink("This authorization link is not valid.")
        _, cookie_scope = browser_routes(self._oauth.redirect_uri())
        return BrowserHandoff(
            intuit_url=self._oauth.authorization_url(state), cookie_value=browser_secret, cookie=cookie_scope
        )

    def browser_cookie(self) -> BrowserCookie:
        _, cookie_scope = browser_routes(self._oauth.redirect_uri())
        return cookie_scope

    def complete_authorization(
        self,
        *,
        state: str | None,
        cookie: str | None,
        code: str | None,
        realm_id: str | None,
        error: str | None,
    ) -> str:
        """Finish the OAuth flow; returns where to send the browser. Raises InvalidOAuthLink until the
        state and this browser's cookie check out (the state is used up only then); every failure after
        that goes back to the connection's return_url with the reason, and revokes the tokens it got
        unless another connection uses the same company (Intuit's revoke ends the app's whole grant)."""
        if not state or len(state) > MAX_STATE_LENGTH or not is_cookie_value(cookie):
            raise InvalidOAuthLink("This authorization link is not valid.")
        record = self._repository.consume_oauth_state(digest(state), digest(cookie or ""))
        connection = self._repository.get(record.connection_id) if record else None
        if record is None or connection is None:
            raise InvalidOAuthLink("This authorization link is not valid.")

        def fail(reason: str) -> str:
            return with_outcome(connection.return_url, status="error", reason=reason)

        if record.expires_at <= self._clock.now():
            return fail("expired_state")
        if error:
            return fail(error if error in {"access_denied", "invalid_scope"} else "authorization_error")
        if not code:
            return fail("missing_code")
        if not is_realm_id(realm_id):
            return fail("invalid_realm")
        assert realm_id is not None
        try:
            tokens = self._oauth.exchange_code(code)
        except ReauthorizationRequired:
            return fail("authorization_failed")
        except DomainError:
            return fail("quickbooks_unavailable")

        def discard(reason: str) -> str:
            self._discard_grant(tokens, realm_id, connection.connection_id)
            return fail(reason)

        if connection.realm_id not in {None, realm_id} and connection.status in _USING_REALM:
            # Reconnecting must reach the same company: the copies and payments point into it.
            return discard("different_company")
        try:
            profile = self._quickbooks(realm_id, StaticAccessToken(tokens.access_token)).company_profile()
        except DomainError:
            return discard("quickbooks_unavailable")
        try:
            stored = self._vault.read(connection.connection_id)
            if stored is None:
                return discard("connection_reset")
            self._vault.write(connection.connection_id, stored.with_tokens(tokens))
            now = self._clock.now()
            saved = connection.with_changes(
                status=ConnectionStatus.CONNECTED,
                status_reason=None,
                company=profile,
                access_expires_at=tokens.access_expires_at,
                refresh_expires_at=tokens.refresh_expires_at,
                refresh_hard_expires_at=tokens.refresh_hard_expires_at,
                next_refresh_at=next_refresh_at(now, tokens),
                updated_at=now,
            )
            self._repository.save(saved)
        except Exception as exc:
            # Our own storage failed: the grant is not left behind, and the browser still goes back to
            # Productive (the state is used up, so the user starts again from there).
            raise AuthorizationNotSaved(discard("internal_error")) from exc
        self._activity.record(activity.connected(saved, now, reconnect=connection.company is not None))
        return with_outcome(connection.return_url, status="connected")

    # -- read, settings, disconnect --------------------------------------------------------------

    def get(self, connection_id: str) -> Connection:
        return existing(self._repository.get(connection_id))

    def update_settings(self, connection_id: str, requested: ConnectionSettings) -> ConnectionSettings:
        connection = self.get(connection_id)
        item_ids = requested.referenced_item_ids()
        if item_ids:
            self._check_items_exist(connection, item_ids)
        if uses_tracking(requested):
            # The company tracks the classes or locations asked for, and those exist and are active.
            check_settings(requested, read_tracking(requested, self._checking_api(connection, "Classes and locations")))
        if requested.sync_payments:
            since = connection.settings.sync_payments_since if connection.settings.sync_payments else None
            since = since or self._clock.now()
        else:
            since = None
        settings = requested.model_copy(update={"sync_payments_since": since})
        now = self._clock.now()
        self._repository.update_settings(connection_id, settings, now)
        changed = activity.settings_changed(connection_id, now, connection.settings, settings)
        if changed is not None:
            self._activity.record(changed)
        return settings

    def disconnect(self, connection_id: str) -> None:
        connection = self.get(connection_id)
        secret = self._vault.read(connection_id)
        realm_id = connection.realm_id
        revoked = False
        if secret is not None and secret.tokens is not None and not self._realm_in_use(realm_id, connection_id):
            # Revoking ends the app's whole grant for the company at Intuit, so only the last connection
            # to it revokes. If Intuit cannot be reached we change nothing, so the user can try again (503).
            self._oauth.revoke(secret.tokens.refresh_token)
            revoked = True
        self._vault.delete(connection_id)
        now = self._clock.now()
        self._repository.mark_disconnected(connection.connection_id, now)
        if connection.status is not ConnectionStatus.DISCONNECTED:
            self._activity.record(activity.disconnected(connection, now, revoked=revoked))

    # -- internals -------------------------------------------------------------------------------

    def _checking_api(self, connection: Connection, what: str) -> QuickBooksApi:
        """The company's API, to check settings against it: 409 unless the connection is connected."""
        if connection.status is not ConnectionStatus.CONNECTED or connection.realm_id is None:
            raise ConnectionNotReady(
                f"{what} can only be checked once the connection is connected to QuickBooks.",
                details={"status": connection.status.value},
            )
        return self._quickbooks(connection.realm_id, self._tokens.provider_for(connection.connection_id))

    def _check_items_exist(self, connection: Connection, item_ids: set[str]) -> None:
        api = self._checking_api(connection, "Item mappings")
        found = {row["Id"] for row in api.query(f"select * from Item where Id in {quote_list(sorted(item_ids))}")}
        unknown = sorted(item_ids - found, key=lambda value: (len(value), value))
        if unknown:
            raise InvalidInput(
                "Unknown or inactive QuickBooks item id(s): " + ", ".join(unknown) + ".",
                code="unknown_item",
                details={"item_ids": unknown},
            )

    def _realm_in_use(self, realm_id: str | None, except_connection_id: str) -> bool:
        """Whether another connection still uses this QuickBooks company (and so Intuit's grant for it)."""
        if realm_id is None:
            return False
        for other_id in self._repository.connection_ids_for_realm(realm_id):
            if other_id == except_connection_id:
                continue
            other = self._repository.get(other_id)
            if other is not None and other.realm_id == realm_id and other.status in _USING_REALM:
                return True
        return False

    def _discard_grant(self, tokens: TokenSet, realm_id: str, connection_id: str) -> None:
        """Tokens from a callback that failed: revoke them unless another connection uses that company
        (the same grant at Intuit). When QuickBooks refused them for the named company they belong to
        one we cannot name; revoking them then ends only the grant the user has just given."""
        if self._realm_in_use(realm_id, connection_id):
            return
        with contextlib.suppress(DomainError):  # best effort: the grant is unusable to us anyway
            self._oauth.revoke(tokens.refresh_token)
