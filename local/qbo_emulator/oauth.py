"""Intuit OAuth 2.0: authorize (auto-consent), token (code exchange and refresh), revoke, discovery.

Model: a *grant* is one app's connection to one company (realm + client_id). Authorization codes
create or renew a grant; every refresh token and access token belongs to one grant. Revoking any of
its tokens ends the grant, so all its tokens stop working. Refresh tokens have a rolling lifetime
(``refresh_seconds`` from their last use) and a hard cap fixed when the grant was first authorized
(``hard_seconds``) that reconnecting does not extend while the grant is alive.

Rotation (``OAuthService.rotation``):

* ``"intuit"`` (default), Intuit's documented behaviour: a refresh token's value stays the same for
  24 hours (a refresh within 24 h of its issue answers with the same value), then a refresh answers
  with a new value, and the value it replaced keeps working for 24 hours more (a refresh with it
  answers with the newest value).
* ``"strict"``: every refresh answers with a new value and the old one dies at once. The harder case
  for a client; the product's own tests use it.
"""

from __future__ import annotations

import base64
import binascii
import html
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from local.qbo_emulator import jsonutil
from local.qbo_emulator.clock import Clock
from local.qbo_emulator.openid import OpenIdSigner, user_info

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
KNOWN_SCOPES = frozenset(
    {
        ACCOUNTING_SCOPE,
        "com.intuit.quickbooks.payment",
        "openid",
        "profile",
        "email",
        "phone",
        "address",
        "intuit_name",
        "com.intuit.quickbooks.payroll",
        "com.intuit.quickbooks.payroll.timetracking",
        "com.intuit.quickbooks.payroll.benefits",
        "payroll.compensation.read",
        "project-management.project",
        "app-foundations.custom-field-definitions",
        "app-foundations.custom-field-definitions.read",
        "app-foundations.custom-dimensions.read",
        "time-tracking.time-entry",
        "indirect-tax.tax-calculation.quickbooks",
    }
)
CODE_LIFETIME = timedelta(minutes=10)
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"

VALUE_LIFETIME = timedelta(hours=24)  # "intuit" rotation: how long a refresh token keeps its value
REPLACED_OVERLAP = timedelta(hours=24)  # "intuit" rotation: how long a replaced value keeps working

Rotation = Literal["intuit", "strict"]
ROTATIONS: tuple[Rotation, ...] = ("intuit", "strict")
RefreshOutcome = Literal["accepted", "superseded", "already_rotated", "revoked", "expired", "unknown"]


@dataclass
class App:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    webhook_verifier_token: str | None = None


@dataclass
class Grant:
    realm_id: str
    client_id: str
    created_at: datetime
    hard_expires_at: datetime
    scopes: tuple[str, ...]
    active: bool = True


@dataclass
class AuthCode:
    value: str
    client_id: str
    redirect_uri: str
    realm_id: str
    scopes: tuple[str, ...]
    issued_at: datetime
    used: bool = False


@dataclass
class RefreshToken:
    value: str
    grant: Grant
    issued_at: datetime
    expires_at: datetime
    family: str  # the first refresh token of its chain (the one a code exchange issued)
    replaced: Replacement | None = None  # set when a later refresh answered with a new value

    def newest(self) -> RefreshToken:
        token = self
        while token.replaced is not None:
            token = token.replaced.by
        return token


@dataclass(frozen=True)
class Replacement:
    by: RefreshToken
    at: datetime


@dataclass(frozen=True)
class PresentedRefreshToken:
    """One ``refresh_token`` grant as the token endpoint saw it, in arrival order.

    ``outcome`` ``superseded`` means the client sent a refresh token that an earlier refresh had
    replaced, within the 24 hours an old value keeps working ("intuit" rotation): accepted, and
    answered with the newest value. ``already_rotated``: such a stale copy (two refreshers raced, or a
    retry after a lost answer) after those 24 hours, or at all under "strict" rotation: refused.
    ``family`` is the first refresh token of the chain (None for a token the emulator never issued),
    so a test can pick out the presentations of one connection."""

    token: str
    family: str | None
    outcome: RefreshOutcome
    at: datetime


@dataclass
class AccessToken:
    value: str
    grant: Grant
    issued_at: datetime
    expires_at: datetime


@dataclass
class Lifetimes:
    access_seconds: int = 3600
    refresh_seconds: int = 8_726_400  # ~101 days, the figure Intuit returns
    hard_seconds: int = 157_680_000  # 5 years


@dataclass
class Consent:
    realm_id: str | None = None
    deny: bool = False


@dataclass
class AuthResult:
    """Outcome of checking an API request's bearer token."""

    ok: bool
    status: int = 401
    detail: str = ""
    token: AccessToken | None = None


@dataclass
class _State:
    apps: dict[str, App] = field(default_factory=dict)
    grants: dict[tuple[str, str], Grant] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    presented: list[PresentedRefreshToken] = field(default_factory=list)


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(jsonutil.dumps(body), status=status, content_type="application/json;charset=UTF-8")
    response.headers["Cache-Control"] = "no-cache, no-store"
    response.headers["Pragma"] = "no-cache"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="Intuit"'} if status == 401 else None
    return _json({"error": error, "error_description": description}, status, headers)


def _error_page(title: str, message: str) -> Response:
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Intuit - Error</title></head>'
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return Response(page, status=400, content_type="text/html; charset=utf-8")


def _redirect(redirect_uri: str, params: dict[str, str]) -> Response:
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
    response = Response("", status=302)
    response.headers["Location"] = location
    return response


class OAuthService:
    def __init__(
        self,
        clock: Clock,
        realm_exists: Callable[[str], bool],
        default_realm: str,
        base_url: Callable[[], str] | None = None,
        company: Callable[[str], dict[str, Any]] | None = None,
    ) -> None:
        self._clock = clock
        self._base_url: Callable[[], str] = base_url or (lambda: "")
        self._company: Callable[[str], dict[str, Any]] = company or (lambda realm_id: {})
        self.openid = OpenIdSigner()
        self._realm_exists = realm_exists
        self._default_realm = default_realm
        self._lock = threading.RLock()
        self._state = _State()
        self.lifetimes = Lifetimes()
        self.rotation: Rotation = "intuit"
        self._consent = Consent()

    # --- configuration ------------------------------------------------------------------------

    def register_app(self, app: App) -> None:
        with self._lock:
            self._state.apps[app.client_id] = app

    def app(self, client_id: str) -> App | None:
        with self._lock:
            return self._state.apps.get(client_id)

    def next_consent(self, realm_id: str | None, deny: bool) -> None:
        with self._lock:
            self._consent = Consent(realm_id=realm_id, deny=deny)

    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._state.issued)

    def presented_refresh_tokens(self, family: str | None = None) -> list[PresentedRefreshToken]:
        """Every refresh_token grant received so far (of one chain, if ``family`` is given)."""
        with self._lock:
            return [p for p in self._state.presented if family is None or p.family == family]

    def is_connected(self, realm_id: str, client_id: str) -> bool:
        with self._lock:
            grant = self._state.grants.get((realm_id, client_id))
            return bool(grant and grant.active and self._clock.now() < grant.hard_expires_at)

    # --- token minting ------------------------------------------------------------------------

    def _mint(self, prefix: str, nbytes: int) -> str:
        value = prefix + secrets.token_urlsafe(nbytes)
        self._state.issued.append(value)
        return value

    def _new_access(self, grant: Grant, now: datetime) -> AccessToken:
        token = AccessToken(
            value=self._mint("eyJ", 480),
            grant=grant,
            issued_at=now,
            expires_at=now + timedelta(seconds=self.lifetimes.access_seconds),
        )
        self._state.access_tokens[token.value] = token
        return token

    def _new_refresh(self, grant: Grant, now: datetime, family: str | None = None) -> RefreshToken:
        value = f"RT1-{secrets.randbelow(900) + 100}-H0-{int(now.timestamp())}{secrets.token_urlsafe(18)}"
        self._state.issued.append(value)
        token = RefreshToken(
            value=value,
            grant=grant,
            issued_at=now,
            expires_at=self._rolling_expiry(grant, now),
            family=family or value,
        )
        self._state.refresh_tokens[value] = token
        return token

    def _rolling_expiry(self, grant: Grant, now: datetime) -> datetime:
        return min(now + timedelta(seconds=self.lifetimes.refresh_seconds), grant.hard_expires_at)

    def _presented(self, value: str, family: str | None, outcome: RefreshOutcome, now: datetime) -> None:
        self._state.presented.append(PresentedRefreshToken(value, family, outcome, now))

    def _token_body(self, access: AccessToken, refresh: RefreshToken, now: datetime, hard: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "token_type": "bearer",
            "access_token": access.value,
            "expires_in": self.lifetimes.access_seconds,
            "refresh_token": refresh.value,
            "x_refresh_token_expires_in": max(0, round((refresh.expires_at - now).total_seconds())),
        }
        if hard:
            body["x_refresh_token_hard_expires_in"] = max(
                0, round((refresh.grant.hard_expires_at - now).total_seconds())
            )
        return body

    def _grant_alive(self, grant: Grant, now: datetime) -> bool:
        current = self._state.grants.get((grant.realm_id, grant.client_id))
        return grant.active and current is grant and now < grant.hard_expires_at

    # --- HTTP endpoints -------------------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        args = request.args
        client_id = args.get("client_id", "")
        redirect_uri = args.get("redirect_uri", "")
        state = args.get("state")
        with self._lock:
            app = self._state.apps.get(client_id)
            if app is None:
                return _error_page("Invalid client", f"The client_id '{client_id}' is not recognised.")
            if redirect_uri not in app.redirect_uris:
                return _error_page(
                    "Invalid redirect_uri",
                    "The redirect_uri does not match a redirect URI registered for this app.",
                )
            extra = {"state": state} if state is not None else {}
            if args.get("response_type") != "code":
                return _redirect(redirect_uri, {"error": "unsupported_response_type", **extra})
            scopes = tuple(args.get("scope", "").split())
            if ACCOUNTING_SCOPE not in scopes or any(scope not in KNOWN_SCOPES for scope in scopes):
                return _redirect(redirect_uri, {"error": "invalid_scope", **extra})
            consent, self._consent = self._consent, Consent()
            if consent.deny:
                return _redirect(redirect_uri, {"error": "access_denied", **extra})
            realm_id = consent.realm_id or self._default_realm
            if not self._realm_exists(realm_id):
                return _error_page("Unknown company", f"No company {realm_id} in this emulator.")
            now = self._clock.now()
            code = AuthCode(
                value="AB11" + secrets.token_urlsafe(30),
                client_id=client_id,
                redirect_uri=redirect_uri,
                realm_id=realm_id,
                scopes=scopes,
                issued_at=now,
            )
            self._state.codes[code.value] = code
            return _redirect(redirect_uri, {"code": code.value, **extra, "realmId": realm_id})

    def _client(self, request: Request) -> App | None:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            return None
        app = self._state.apps.get(client_id)
        if app is None or not secrets.compare_digest(app.client_secret, secret):
            return None
        return app

    def token(self, request: Request) -> Response:
        with self._lock:
            app = self._client(request)
            if app is None:
                return _oauth_error("invalid_client", "Client authentication failed", 401)
            form = request.form
            grant_type = form.get("grant_type", "")
            hard = request.headers.get(HARD_EXPIRY_HEADER, "").strip().lower() == "true"
            now = self._clock.now()
            if grant_type == "authorization_code":
                return self._exchange_code(app, form.get("code", ""), form.get("redirect_uri", ""), now, hard)
            if grant_type == "refresh_token":
                return self._refresh(app, form.get("refresh_token", ""), now, hard)
            if not grant_type:
                return _oauth_error("invalid_request", "grant_type is required")
            return _oauth_error("unsupported_grant_type", f"grant_type '{grant_type}' is not supported")

    def _exchange_code(self, app: App, value: str, redirect_uri: str, now: datetime, hard: bool) -> Response:
        code = self._state.codes.get(value)
        if code is None or code.client_id != app.client_id:
            return _oauth_error("invalid_grant", "Invalid authorization code")
        if code.used:
            return _oauth_error("invalid_grant", "Authorization code has already been used")
        code.used = True
        if now - code.issued_at > CODE_LIFETIME:
            return _oauth_error("invalid_grant", "Authorization code has expired")
        if redirect_uri != code.redirect_uri:
            return _oauth_error("invalid_grant", "redirect_uri does not match the authorization request")
        key = (code.realm_id, app.client_id)
        grant = self._state.grants.get(key)
        if grant is None or not self._grant_alive(grant, now):
            grant = Grant(
                realm_id=code.realm_id,
                client_id=app.client_id,
                created_at=now,
                hard_expires_at=now + timedelta(seconds=self.lifetimes.hard_seconds),
                scopes=code.scopes,
            )
            self._state.grants[key] = grant
        refresh = self._new_refresh(grant, now)
        access = self._new_access(grant, now)
        body = self._token_body(access, refresh, now, hard)
        if "openid" in code.scopes:
            body["id_token"] = self.openid.id_token(
                issuer=self.discovery(self._base_url())["issuer"],
                client_id=app.client_id,
                realm_id=code.realm_id,
                now=now,
            )
        return _json(body)

    def _refresh(self, app: App, value: str, now: datetime, hard: bool) -> Response:
        if not value:
            return _oauth_error("invalid_request", "refresh_token is required")
        token = self._state.refresh_tokens.get(value)
        if token is None or token.grant.client_id != app.client_id:
            self._presented(value, None, "unknown", now)
            return _oauth_error("invalid_grant", "Incorrect or invalid refresh token")
        outcome: RefreshOutcome = "accepted"
        if token.replaced is not None:
            if self.rotation == "strict" or now >= token.replaced.at + REPLACED_OVERLAP:
                self._presented(value, token.family, "already_rotated", now)
                return _oauth_error("invalid_grant", "Token has been expired or revoked")
            outcome = "superseded"
        if not self._grant_alive(token.grant, now) or now >= token.expires_at:
            outcome = "expired" if now >= min(token.expires_at, token.grant.hard_expires_at) else "revoked"
            self._presented(value, token.family, outcome, now)
            return _oauth_error("invalid_grant", "Token has been expired or revoked")
        self._presented(value, token.family, outcome, now)
        current = token.newest()
        if self.rotation == "strict" or now - current.issued_at >= VALUE_LIFETIME:
            refresh = self._new_refresh(current.grant, now, family=current.family)
            current.replaced = Replacement(refresh, now)
        else:
            current.expires_at = self._rolling_expiry(current.grant, now)
            refresh = current
        access = self._new_access(token.grant, now)
        return _json(self._token_body(access, refresh, now, hard))

    def revoke(self, request: Request) -> Response:
        with self._lock:
            app = self._client(request)
            if app is None:
                return _oauth_error("invalid_client", "Client authentication failed", 401)
            value = ""
            if request.mimetype == "application/json":
                try:
                    body = jsonutil.loads(request.get_data())
                except ValueError:
                    return _oauth_error("invalid_request", "Body must be JSON with a token field")
                if isinstance(body, dict):
                    value = str(body.get("token") or "")
            else:
                value = request.form.get("token", "")
            if not value:
                return _oauth_error("invalid_request", "token is required")
            grant: Grant | None = None
            if value in self._state.refresh_tokens:
                grant = self._state.refresh_tokens[value].grant
            elif value in self._state.access_tokens:
                grant = self._state.access_tokens[value].grant
            if grant is not None and grant.client_id == app.client_id:
                grant.active = False
            return Response("", status=200)

    # --- API authentication ----------------------------------------------------------------------

    def authenticate(self, header: str | None) -> AuthResult:
        if not header:
            return AuthResult(False, detail="Token expired: no Authorization header")
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return AuthResult(False, detail="Token expired: malformed Authorization header")
        with self._lock:
            token = self._state.access_tokens.get(value)
            now = self._clock.now()
            if token is None:
                return AuthResult(False, detail="Token expired: access token is not recognised")
            if not self._grant_alive(token.grant, now):
                return AuthResult(False, detail="Token expired: access token has been revoked")
            if now >= token.expires_at:
                return AuthResult(False, detail="Token expired: access token has expired")
            return AuthResult(True, status=200, token=token)

    def userinfo(self, request: Request) -> Response:
        result = self.authenticate(request.headers.get("Authorization"))
        if not result.ok or result.token is None:
            return _json({"error": "invalid_token", "error_description": result.detail}, 401)
        grant = result.token.grant
        if "openid" not in grant.scopes:
            return _json({"error": "insufficient_scope", "error_description": "openid scope not granted"}, 403)
        subject = self.openid.subject(grant.realm_id, grant.client_id)
        return _json(user_info(subject, grant.scopes, self._company(grant.realm_id)))

    def jwks(self) -> Response:
        return _json(self.openid.jwks())

    # --- discovery ----------------------------------------------------------------------------

    @staticmethod
    def discovery(base_url: str) -> dict[str, Any]:
        return {
            "issuer": f"{base_url}/op/v1",
            "authorization_endpoint": f"{base_url}/connect/oauth2",
            "token_endpoint": f"{base_url}/oauth2/v1/tokens/bearer",
            "userinfo_endpoint": f"{base_url}/v1/openid_connect/userinfo",
            "revocation_endpoint": f"{base_url}/v2/oauth2/tokens/revoke",
            "jwks_uri": f"{base_url}/op/v1/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": sorted(KNOWN_SCOPES),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        }
