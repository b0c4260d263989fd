"""The QuickBooks token lifecycle: lazy refresh during requests, the scheduled refresh, and the
rules that keep a rotating refresh token alive when many workers share it.

Rules (docs/architecture.md "Token refresh" and "QuickBooks OAuth tokens";
docs/decisions/0001-one-token-refresh-per-connection.md):
- at most one refresh per connection at a time (a lease in the repository, longer than a refresh can
  take, so it never runs out under a worker that is still refreshing);
- the rotated tokens are saved before anyone uses them;
- before believing a failure, re-read the stored tokens: another worker may have rotated them;
- a refresh token is sent again only after a re-read, and only when Intuit's answer to it was lost
  (the only way to learn whether Intuit had acted on it); never in a retry loop;
- invalid_grant means only the user can fix it: status needs_reconnect, no retry loop.

Each refresh that reached Intuit is a `token_refreshed` entry of the activity log, and a connection that
becomes needs_reconnect a `needs_reconnect` entry with Intuit's reason (docs/architecture.md "Connection
health"); the scheduled job records its failures as the connection's last error.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_delay, wait_random_exponential

from qbosync.domain.activity import Activity, ActivityLog
from qbosync.domain.connection import (
    Connection,
    ConnectionSecret,
    ConnectionStatus,
    TokenSet,
    existing,
    require_connected,
)
from qbosync.domain.errors import (
    ConnectionNotReady,
    DomainError,
    NotFound,
    ReauthorizationRequired,
    RefreshOutcomeUnknown,
    UpstreamUnavailable,
)
from qbosync.domain.health import QuickBooksCallLog, call_error
from qbosync.domain.ports import Clock, ConnectionRepository, IntuitOAuth, TokenVault

logger = logging.getLogger(__name__)

ACCESS_TOKEN_MARGIN = timedelta(minutes=5)
# Intuit rotates refresh tokens about daily; refreshing daily keeps the 100-day window rolling.
SCHEDULED_REFRESH_INTERVAL = timedelta(hours=24)
# Longer than the longest refresh: two Intuit calls of at most the OAuth adapter's refresh budget
# (20 s, retries included) plus the reads and writes around them.
REFRESH_LEASE = timedelta(seconds=60)


class _RefreshInProgress(Exception):
    """Another worker holds the refresh lease; wait for its result."""


def next_refresh_at(now: datetime, tokens: TokenSet) -> datetime:
    """Daily, but always well inside the rolling window (half of what is left of it)."""
    half_window = (tokens.refresh_expires_at - now) / 2
    return now + max(timedelta(0), min(SCHEDULED_REFRESH_INTERVAL, half_window))


@dataclass
class RefreshReport:
    refreshed: list[str] = field(default_factory=list)
    needs_reconnect: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class StaticAccessToken:
    """An access token that cannot be refreshed: the one just issued by a code exchange."""

    def __init__(self, token: str):
        self._token = token

    def current(self) -> str:
        return self._token

    def refreshed(self, rejected_token: str) -> str:
        raise ReauthorizationRequired("QuickBooks rejected an access token it had just issued.")


class ConnectionAccessToken:
    """One connection's credentials for the length of one request: read once, refreshed through
    the token service when the access token is about to expire or QuickBooks rejects it."""

    def __init__(self, service: TokenService, connection_id: str, connection: Connection | None = None):
        self._service = service
        self._connection_id = connection_id
        self._connection = connection
        self._secret: ConnectionSecret | None = None
        self._tokens: TokenSet | None = None

    @property
    def connection_id(self) -> str:
        return self._connection_id

    def current(self) -> str:
        if self._tokens is None or not self._service.fresh_enough(self._tokens):
            self._secret, self._tokens = self._service.usable_tokens(self._connection_id, self._connection)
        return self._tokens.access_token

    def refreshed(self, rejected_token: str) -> str:
        self._tokens = self._service.refresh(self._connection_id, rejected_access_token=rejected_token)
        return self._tokens.access_token

    def secret(self) -> ConnectionSecret:
        """The connection's secret as read for this request (the Productive API token is in it)."""
        self.current()
        assert self._secret is not None
        return self._secret


class TokenService:
    def __init__(
        self,
        *,
        repository: ConnectionRepository,
        vault: TokenVault,
        oauth: IntuitOAuth,
        clock: Clock,
        lease_wait_seconds: float = 15.0,
        sleep: Callable[[float], None] = time.sleep,
        activity: ActivityLog | None = None,
        calls: QuickBooksCallLog | None = None,
    ):
        """`activity` and `calls`: where refreshes, reconnects and the scheduled job's failures are
        recorded (None: not recorded, for narrow unit tests)."""
        self._repository = repository
        self._activity = activity
        self._calls = calls
        self._vault = vault
        self._oauth = oauth
        self._clock = clock
        self._lease_wait_seconds = lease_wait_seconds
        self._sleep = sleep

    # -- during requests -------------------------------------------------------------------------

    def provider_for(self, connection_id: str, connection: Connection | None = None) -> ConnectionAccessToken:
        """Credentials for one request; pass the connection if it was just read, to save a read."""
        return ConnectionAccessToken(self, connection_id, connection)

    def fresh_enough(self, tokens: TokenSet) -> bool:
        return tokens.access_valid_at(self._clock.now(), int(ACCESS_TOKEN_MARGIN.total_seconds()))

    def usable_tokens(
        self, connection_id: str, connection: Connection | None = None
    ) -> tuple[ConnectionSecret, TokenSet]:
        """The stored secret and a usable token set, refreshed first if the access token is expiring."""
        connection = self._connected(connection_id, connection)
        secret = self._vault.read(connection_id)
        if secret is None or secret.tokens is None:
            raise ConnectionNotReady("The connection has no QuickBooks tokens; connect it again.")
        if self.fresh_enough(secret.tokens):
            return secret, secret.tokens
        fresh = self.refresh(connection_id)
        return secret.with_tokens(fresh), fresh

    def access_token(self, connection_id: str) -> str:
        """A usable access token for a connected company, refreshed first if it is about to expire."""
        return self.usable_tokens(connection_id)[1].access_token

    def refresh(
        self, connection_id: str, *, rejected_access_token: str | None = None, scheduled: bool = False
    ) -> TokenSet:
        """Refresh unless someone else already did; returns the tokens to use from now on."""
        owner = uuid.uuid4().hex
        retrying = Retrying(
            retry=retry_if_exception_type(_RefreshInProgress),
            wait=wait_random_exponential(multiplier=0.05, max=0.5),
            stop=stop_after_delay(self._lease_wait_seconds),
            sleep=self._sleep,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._refresh_once(connection_id, owner, rejected_access_token, scheduled)
        except RetryError as exc:
            raise UpstreamUnavailable(
                "Another token refresh for this connection is taking too long; try again shortly.",
                service="quickbooks",
                retry_after_seconds=5,
                code="token_refresh_in_progress",
            ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the scheduled job -----------------------------------------------------------------------

    def refresh_due(self, *, limit: int = 500) -> RefreshReport:
        """Refresh every connection whose scheduled refresh time has come."""
        report = RefreshReport()
        now = self._clock.now()
        for connection_id in self._repository.due_for_refresh(now, limit):
            try:
                self.refresh(connection_id, scheduled=True)
            except ReauthorizationRequired as error:
                report.needs_reconnect.append(connection_id)
                self._record_failure(connection_id, error)
                continue
            except (UpstreamUnavailable, ConnectionNotReady, NotFound) as error:
                report.failed.append(connection_id)
                if isinstance(error, UpstreamUnavailable):
                    self._record_failure(connection_id, error)
                continue
            report.refreshed.append(connection_id)
        return report

    # -- internals -------------------------------------------------------------------------------

    def _refresh_once(
        self, connection_id: str, owner: str, rejected_access_token: str | None, scheduled: bool
    ) -> TokenSet:
        now = self._clock.now()
        if not self._repository.try_acquire_refresh_lease(connection_id, owner, now, now + REFRESH_LEASE):
            raise _RefreshInProgress
        try:
            # Re-read after taking the lease: a worker that held it before us may have refreshed.
            connection = self._connected(connection_id)
            tokens = self._stored_tokens(connection)
            if not self._needs_refresh(connection, tokens, rejected_access_token, scheduled):
                return tokens
            try:
                try:
                    fresh = self._oauth.refresh(tokens.refresh_token)
                except RefreshOutcomeUnknown:
                    # Intuit may have rotated the token and lost the answer, or never acted on it.
                    saved = self._saved_since(connection_id, tokens)
                    if saved is not None:
                        return saved
                    # Sent once more, deliberately: it works if Intuit had not acted, or returns the same
                    # value within its rotation window; if it had rotated, invalid_grant follows, and no
                    # client can get back a successor whose only copy was in the lost answer.
                    fresh = self._oauth.refresh(tokens.refresh_token)
            except ReauthorizationRequired as error:
                saved = self._saved_since(connection_id, tokens)
                if saved is not None:
                    return saved
                self._repository.mark_needs_reconnect(connection_id, "invalid_grant", self._clock.now())
                self._record(
                    Activity(
                        connection_id=connection_id,
                        kind="needs_reconnect",
                        at=self._clock.now(),
                        summary="QuickBooks refused the connection's authorization; the user must reconnect.",
                        details={"reason": "invalid_grant", "intuit_reason": error.intuit_reason or "invalid_grant"},
                    )
                )
                raise
            if fresh.refresh_hard_expires_at is None:
                fresh = TokenSet(
                    access_token=fresh.access_token,
                    refresh_token=fresh.refresh_token,
                    access_expires_at=fresh.access_expires_at,
                    refresh_expires_at=fresh.refresh_expires_at,
                    refresh_hard_expires_at=tokens.refresh_hard_expires_at,
                )
            secret = self._vault.read(connection_id)
            if secret is None:
                raise ConnectionNotReady("The connection's credentials are gone; connect it again.")
            self._vault.write(connection_id, secret.with_tokens(fresh))
            self._repository.record_token_expiry(
                connection_id, fresh, next_refresh_at(self._clock.now(), fresh), self._clock.now()
            )
            self._record(
                Activity(
                    connection_id=connection_id,
                    kind="token_refreshed",
                    at=self._clock.now(),
                    summary="QuickBooks tokens refreshed.",
                    details={
                        "trigger": _trigger(rejected_access_token, scheduled),
                        "refresh_expires_at": fresh.refresh_expires_at.isoformat(),
                        "refresh_hard_expires_at": (
                            fresh.refresh_hard_expires_at.isoformat() if fresh.refresh_hard_expires_at else None
                        ),
                    },
                )
            )
            return fresh
        finally:
            self._repository.release_refresh_lease(connection_id, owner)

    def _needs_refresh(
        self, connection: Connection, tokens: TokenSet, rejected_access_token: str | None, scheduled: bool
    ) -> bool:
        now = self._clock.now()
        if rejected_access_token is not None and tokens.access_token == rejected_access_token:
            return True
        if not tokens.access_valid_at(now, int(ACCESS_TOKEN_MARGIN.total_seconds())):
            return True
        return scheduled and (connection.next_refresh_at is None or connection.next_refresh_at <= now)

    def _connected(self, connection_id: str, known: Connection | None = None) -> Connection:
        if known is not None and known.status is ConnectionStatus.CONNECTED:
            return known
        connection = existing(self._repository.get(connection_id))
        require_connected(connection)
        return connection

    def _saved_since(self, connection_id: str, sent: TokenSet) -> TokenSet | None:
        """Tokens another worker saved after we read `sent` (None: still the ones we sent)."""
        latest = self._vault.read(connection_id)
        if latest and latest.tokens and latest.tokens.refresh_token != sent.refresh_token:
            return latest.tokens
        return None

    def _record(self, activity: Activity) -> None:
        """Best effort: the refresh (or its refusal) is what counts; a lost entry is logged."""
        if self._activity is None:
            return
        try:
            self._activity.record(activity)
        except Exception:
            logger.exception("activity entry not recorded", extra={"connection_id": activity.connection_id})

    def _record_failure(self, connection_id: str, error: DomainError) -> None:
        if self._calls is None:
            return
        try:
            self._calls.failed(connection_id, call_error(error, self._clock.now()))
        except Exception:
            logger.exception("last error not recorded", extra={"connection_id": connection_id})

    def _stored_tokens(self, connection: Connection) -> TokenSet:
        secret = self._vault.read(connection.connection_id)
        if secret is None or secret.tokens is None:
            raise ConnectionNotReady("The connection has no QuickBooks tokens; connect it again.")
        return secret.tokens


def _trigger(rejected_access_token: str | None, scheduled: bool) -> str:
    """Why a refresh was sent (the activity entry says it)."""
    if rejected_access_token is not None:
        return "rejected"
    return "scheduled" if scheduled else "expiring"
