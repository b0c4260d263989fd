"""The rules of the browser's part of connecting: where it may be sent back to, how the authorization
state is bound to the browser that started it, and which QuickBooks company ids we accept.

The flow (README "Connecting"): POST /connections gives an `authorize_url` on our own GET /oauth/start,
which binds the state to a cookie in the browser that opens it and sends that browser on to Intuit;
GET /oauth/callback accepts the state only together with that cookie (RFC 6749 §10.12, login CSRF)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from qbosync.domain.errors import DomainError, InvalidInput

OAUTH_COOKIE_NAME = "qbosync_oauth"
OAUTH_STATE_TTL = timedelta(minutes=10)
DEFAULT_ALLOWED_RETURN_URL_HOSTS = "app.productive.io"

# QuickBooks company ids (realmId) are decimal numbers; anything else never reaches a URL path.
_REALM_ID = re.compile(r"[0-9]{1,32}")
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{20,100}")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# Characters browsers and URL parsers disagree about (a "\" is a "/" to a browser, not to urlsplit).
_AMBIGUOUS = re.compile(r"[\\\s\x00-\x1f\x7f]")


def digest(value: str) -> str:
    """States and browser cookies are stored hashed: the table never holds a value that would
    complete an authorization."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def is_realm_id(value: str | None) -> bool:
    return bool(value) and _REALM_ID.fullmatch(value or "") is not None


def is_cookie_value(value: str | None) -> bool:
    return bool(value) and _COOKIE_VALUE.fullmatch(value or "") is not None


def with_outcome(url: str, **params: str) -> str:
    """`url` with these query parameters set: an existing `status` or `reason` is replaced, not repeated."""
    parts = urlsplit(url)
    kept = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in params]
    return urlunsplit(parts._replace(query=urlencode([*kept, *params.items()])))


@dataclass(frozen=True)
class ReturnUrlPolicy:
    """Which hosts the browser may be sent back to after connecting (ALLOWED_RETURN_URL_HOSTS):
    exact host names, or `*.example.com` for any subdomain of example.com. https only, no user
    info, no IP literals."""

    exact: frozenset[str]
    suffixes: tuple[str, ...]

    @classmethod
    def parse(cls, spec: str) -> ReturnUrlPolicy:
        exact: set[str] = set()
        suffixes: list[str] = []
        for raw in spec.split(","):
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            wildcard = entry.startswith("*.")
            host = entry[2:] if wildcard else entry
            if not _is_host_name(host):
                raise ValueError(f"not a host name: {raw.strip()!r}")
            if wildcard:
                suffixes.append("." + host)
            else:
                exact.add(host)
        if not exact and not suffixes:
            raise ValueError("no host names")
        return cls(exact=frozenset(exact), suffixes=tuple(suffixes))

    def allows_host(self, host: str) -> bool:
        return host in self.exact or any(host.endswith(suffix) for suffix in self.suffixes)

    def problem(self, url: str) -> str | None:
        """Why `url` may not be a return_url, or None."""
        if _AMBIGUOUS.search(url):
            return "return_url must not contain spaces, control characters or backslashes"
        parts = urlsplit(url)
        if parts.scheme.lower() != "https":
            return "return_url must be an https URL"
        if "@" in parts.netloc:
            return "return_url must not carry a user name or password"
        host = (parts.hostname or "").rstrip(".")
        if not host:
            return "return_url must name a host"
        if parts.netloc.startswith("[") or _is_ip_literal(host):
            return "return_url must name a host, not an IP address"
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            return "return_url has a malformed port"
        if not _is_host_name(host) or not self.allows_host(host):
            return f"return_url host {host!r} is not allowed"
        return None

    def check(self, url: str) -> str:
        found = self.problem(url)
        if found is not None:
            raise InvalidInput(found + ".", code="return_url_not_allowed", details={"field": "return_url"})
        return url


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # Browsers also read "127.1", "0x7f.1" and a bare number as IPv4.
        return all(label.isdigit() or label.startswith("0x") for label in host.split("."))
    return True


def _is_host_name(host: str) -> bool:
    labels = host.split(".")
    return len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


@dataclass(frozen=True)
class BrowserCookie:
    """Where the OAuth cookie lives: the path of our two browser routes, and whether it may be sent
    over plain http (only to http://127.0.0.1, the local stack)."""

    path: str
    secure: bool


def browser_routes(redirect_uri: str) -> tuple[str, BrowserCookie]:
    """The start URL's prefix (…/oauth/start) and the cookie's scope, both derived from the registered
    redirect URI (…/oauth/callback), so the cookie set by the start page reaches the callback."""
    parts = urlsplit(redirect_uri)
    base_path = parts.path.rsplit("/", 1)[0] or "/"
    start = urlunsplit((parts.scheme, parts.netloc, base_path.rstrip("/") + "/start", "", ""))
    local = parts.scheme == "http" and parts.hostname == "127.0.0.1"
    return start, BrowserCookie(path=base_path, secure=not local)


def start_url(redirect_uri: str, state: str) -> str:
    start, _ = browser_routes(redirect_uri)
    return f"{start}?{urlencode({'state': state})}"


class InvalidOAuthLink(DomainError):
    """The state is unknown, expired before the start page, or not bound to this browser. Every such
    refusal looks the same, so an unsigned caller learns nothing about which connections exist."""

    code = "invalid_oauth_link"


class AuthorizationNotSaved(DomainError):
    """The callback checked out but storing its result failed; `location` still sends the browser back."""

    code = "internal_error"

    def __init__(self, location: str):
        super().__init__("The connection could not be saved.")
        self.location = location
