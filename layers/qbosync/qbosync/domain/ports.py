"""What services need from the outside world. Adapters implement these; tests may fake them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from qbosync.domain.connection import (
    CompanyProfile,
    Connection,
    ConnectionSecret,
    ConnectionSettings,
    TokenSet,
)
from qbosync.domain.quickbooks_batch import BatchAnswer, BatchOperation


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class OAuthState:
    connection_id: str
    expires_at: datetime
    # sha256 of the cookie of the browser that opened the start page (None until one did).
    browser_hash: str | None = None


class ConnectionRepository(Protocol):
    def get(self, connection_id: str) -> Connection | None: ...

    def save(self, connection: Connection) -> None:
        """Write the whole connection (creation, a completed authorization)."""
        ...

    def update_settings(self, connection_id: str, settings: ConnectionSettings, now: datetime) -> None: ...

    def record_token_expiry(
        self, connection_id: str, tokens: TokenSet, next_refresh_at: datetime, now: datetime
    ) -> None: ...

    def mark_needs_reconnect(self, connection_id: str, reason: str, now: datetime) -> None: ...

    def mark_disconnected(self, connection_id: str, now: datetime) -> None: ...

    def connection_ids_for_realm(self, realm_id: str) -> list[str]: ...

    def put_oauth_state(self, state_hash: str, state: OAuthState) -> None: ...

    def bind_oauth_state(
        self, state_hash: str, browser_hash: str, previous_browser_hash: str | None, now: datetime
    ) -> OAuthState | None:
        """Bind an unexpired state to a browser, atomically: only when no browser holds it yet, or the one
        holding it is `previous_browser_hash` (the same browser opening the page again). None otherwise."""
        ...

    def consume_oauth_state(self, state_hash: str, browser_hash: str) -> OAuthState | None:
        """Remove the state and return it, atomically, when it is bound to this browser: a second call,
        or a call from another browser, gets None and changes nothing."""
        ...

    def try_acquire_refresh_lease(self, connection_id: str, owner: str, now: datetime, until: datetime) -> bool: ...

    def release_refresh_lease(self, connection_id: str, owner: str) -> None: ...

    def due_for_refresh(self, now: datetime, limit: int) -> list[str]: ...


class TokenVault(Protocol):
    def read(self, connection_id: str) -> ConnectionSecret | None: ...

    def write(self, connection_id: str, secret: ConnectionSecret) -> None: ...

    def delete(self, connection_id: str) -> None: ...


class IntuitOAuth(Protocol):
    def redirect_uri(self) -> str:
        """The callback URL registered with Intuit (our GET /oauth/callback)."""
        ...

    def authorization_url(self, state: str) -> str: ...

    def exchange_code(self, code: str) -> TokenSet: ...

    def refresh(self, refresh_token: str) -> TokenSet: ...

    def revoke(self, token: str) -> None: ...


@dataclass(frozen=True)
class ChangeSet:
    """One Change Data Capture answer: entity name -> changed objects, and QuickBooks' time of answer."""

    changed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    answered_at: datetime | None = None

    @property
    def count(self) -> int:
        return sum(len(rows) for rows in self.changed.values())


class QuickBooksApi(Protocol):
    """The QuickBooks Accounting API on behalf of one connected company (qbosync.adapters.quickbooks):
    every call the services make. Entities are QuickBooks' names ("Invoice", "Customer"); bodies are
    QuickBooks JSON with Decimal amounts. Faults are raised as QuickBooksFault; throttling and outages
    as UpstreamUnavailable; a connection whose tokens are refused as ReauthorizationRequired."""

    # -- reads

    def company_profile(self) -> CompanyProfile:
        """CompanyInfo and Preferences: what the copy needs to know about the company."""
        ...

    def query(self, statement: str) -> list[dict[str, Any]]:
        """Every row of a SELECT (paged by the adapter unless the statement sets MAXRESULTS)."""
        ...

    def get(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        """One entity by id; None when QuickBooks says it does not exist."""
        ...

    def cdc(self, entities: Sequence[str], changed_since: datetime) -> ChangeSet:
        """Change Data Capture (docs/architecture.md "QuickBooks change data capture")."""
        ...

    def download_pdf(self, entity: str, entity_id: str) -> bytes: ...

    # -- writes: `request_id` is QuickBooks' requestid, so a resent write is answered, not repeated

    def create(self, entity: str, payload: dict[str, Any], *, request_id: str) -> dict[str, Any]: ...

    def update(
        self, entity: str, payload: dict[str, Any], *, request_id: str, operation: str | None = None
    ) -> dict[str, Any]:
        """A full or sparse update (`"sparse": True` in the payload); `operation` e.g. "void"."""
        ...

    def upload_attachment(
        self, *, entity: str, entity_id: str, filename: str, content: bytes, content_type: str, request_id: str
    ) -> dict[str, Any]:
        """Attach a file to an entity; returns the Attachable."""
        ...

    def batch(self, operations: Sequence[BatchOperation], *, request_id: str) -> dict[str, BatchAnswer]:
        """Up to 30 independent creates, updates and queries in one request (docs/architecture.md
        "QuickBooks batch"); the answer of each by its bId. One item's fault is its answer, never raised;
        a fault of the whole request is raised as for a single call. `request_id` (at most 36
        characters) makes a resent batch answered, not repeated. Limits broken: ValueError."""
        ...


class QuickBooksApiFactory(Protocol):
    """How services get a QuickBooksApi: for one company, with one connection's access tokens."""

    def __call__(self, realm_id: str, access_token: AccessTokenProvider) -> QuickBooksApi: ...


class AccessTokenProvider(Protocol):
    """Gives a usable access token; `refreshed` is called after a 401 to get a fresh one."""

    def current(self) -> str: ...

    def refreshed(self, rejected_token: str) -> str: ...
