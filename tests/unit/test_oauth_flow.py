"""The browser part of connecting, as rules: return_url hosts, the cookie's scope, realm ids, and the
service's binding of a state to one browser (in-memory fakes; the real flow is in tests/integration)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from qbosync.domain.connection import CompanyProfile, ConnectionSettings, ConnectionStatus
from qbosync.domain.errors import InvalidInput, UpstreamUnavailable
from qbosync.domain.oauth_flow import (
    InvalidOAuthLink,
    ReturnUrlPolicy,
    browser_routes,
    is_realm_id,
    start_url,
    with_outcome,
)
from qbosync.domain.ports import AccessTokenProvider, QuickBooksApi
from qbosync.services.activity import QuietActivityLog
from qbosync.services.connections import ConnectionService
from qbosync.services.tokens import TokenService
from tests.fakes import (
    FakeClock,
    InMemoryActivityLog,
    InMemoryRepository,
    InMemoryVault,
    QuickBooksStub,
    StrictRotatingOAuth,
)


def test_allowed_hosts_exact_and_wildcard() -> None:
    policy = ReturnUrlPolicy.parse(" app.productive.io , *.example.com ")
    assert policy.problem("https://app.productive.io/x?y=1") is None
    assert policy.problem("https://a.example.com/") is None
    assert policy.problem("https://a.b.example.com:8443/") is None
    assert policy.problem("https://example.com/") is not None  # the wildcard is for subdomains only
    assert policy.problem("https://badexample.com/") is not None
    assert policy.problem("https://app.productive.io.evil.com/") is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://u:p@app.productive.io/",
        "https://u@app.productive.io/",
        "https://[::1]/",
        "https://[2001:db8::1]/",
        "https://10.0.0.1/",
        "https://0x7f.1/",
        "https://app.productive.io\\@evil.com/",
        "https://app.productive.io/\x00",
        "http://app.productive.io/",
        "ftp://app.productive.io/",
        "https:///path",
        "https://app.productive.io:99999/",
    ],
)
def test_refused_return_urls(url: str) -> None:
    policy = ReturnUrlPolicy.parse("app.productive.io")
    assert policy.problem(url) is not None
    with pytest.raises(InvalidInput) as refused:
        policy.check(url)
    assert refused.value.code == "return_url_not_allowed"


@pytest.mark.parametrize("spec", ["", " , ", "exa mple.com", "*.", "https://app.productive.io"])
def test_a_malformed_host_list_is_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        ReturnUrlPolicy.parse(spec)


def test_outcome_replaces_status_and_reason() -> None:
    url = with_outcome("https://app.productive.io/b?status=ok&tab=1&reason=x&reason=y", status="error", reason="z")
    assert url == "https://app.productive.io/b?tab=1&status=error&reason=z"


def test_cookie_scope_follows_the_redirect_uri_and_drops_secure_only_on_http_loopback() -> None:
    start, cookie = browser_routes("https://abc.execute-api.eu-west-1.amazonaws.com/oauth/callback")
    assert start == "https://abc.execute-api.eu-west-1.amazonaws.com/oauth/start"
    assert (cookie.path, cookie.secure) == ("/oauth", True)
    assert browser_routes("http://127.0.0.1:4000/oauth/callback")[1].secure is False
    assert browser_routes("http://localhost:4000/oauth/callback")[1].secure is True
    assert browser_routes("https://127.0.0.1/oauth/callback")[1].secure is True
    assert start_url("https://api.example/v1/oauth/callback", "a.b") == "https://api.example/v1/oauth/start?state=a.b"


@pytest.mark.parametrize(("value", "ok"), [("9341453200000101", True), ("1", True), ("../../x", False), ("", False)])
def test_realm_ids_are_digits(value: str, ok: bool) -> None:
    assert is_realm_id(value) is ok
    assert is_realm_id(None) is False


# -- the service -------------------------------------------------------------------------------------


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.repository = InMemoryRepository()
        self.vault = InMemoryVault()
        self.oauth = StrictRotatingOAuth(self.clock)
        self.profile_error: Exception | None = None
        tokens = TokenService(repository=self.repository, vault=self.vault, oauth=self.oauth, clock=self.clock)
        self.activity = InMemoryActivityLog()
        self.service = ConnectionService(
            repository=self.repository,
            vault=self.vault,
            oauth=self.oauth,
            quickbooks=self._quickbooks,
            tokens=tokens,
            clock=self.clock,
            return_urls=ReturnUrlPolicy.parse("app.productive.io"),
            activity=self.activity,
        )

    def _quickbooks(self, realm_id: str, access_token: AccessTokenProvider) -> QuickBooksApi:
        world = self

        class Api(QuickBooksStub):
            def company_profile(self) -> CompanyProfile:
                if world.profile_error is not None:
                    raise world.profile_error
                return CompanyProfile(realm_id, "Co", "US", "USD", False, False, False, True)

        return Api()

    def start(self, sub: str = "s1") -> str:
        started = self.service.start(
            organization_id="o1", subsidiary_id=sub, productive_api_token="pat", return_url="https://app.productive.io/"
        )
        return started.authorize_url.split("state=", 1)[1]


@pytest.fixture
def world() -> World:
    return World()


def test_the_state_checks_out_only_with_the_cookie_of_the_browser_that_opened_it(world: World) -> None:
    state = world.start()
    handoff = world.service.begin_authorization(state=state, cookie=None)
    with pytest.raises(InvalidOAuthLink):
        world.service.begin_authorization(state=state, cookie=None)  # a second browser
    with pytest.raises(InvalidOAuthLink):
        world.service.complete_authorization(state=state, cookie="B" * 43, code="c", realm_id="1", error=None)
    location = world.service.complete_authorization(
        state=state, cookie=handoff.cookie_value, code="c", realm_id="1", error=None
    )
    assert "status=connected" in location
    with pytest.raises(InvalidOAuthLink):  # used up
        world.service.complete_authorization(
            state=state, cookie=handoff.cookie_value, code="c", realm_id="1", error=None
        )


def test_the_same_browser_may_open_the_start_page_again(world: World) -> None:
    state = world.start()
    first = world.service.begin_authorization(state=state, cookie=None)
    again = world.service.begin_authorization(state=state, cookie=first.cookie_value)
    assert again.cookie_value != first.cookie_value
    with pytest.raises(InvalidOAuthLink):  # the first cookie was replaced
        world.service.complete_authorization(state=state, cookie=first.cookie_value, code="c", realm_id="1", error=None)
    assert "connected" in world.service.complete_authorization(
        state=state, cookie=again.cookie_value, code="c", realm_id="1", error=None
    )


def test_an_expired_state_is_refused_at_the_start_page(world: World) -> None:
    state = world.start()
    world.clock.advance(minutes=11)
    with pytest.raises(InvalidOAuthLink):
        world.service.begin_authorization(state=state, cookie=None)


def test_a_failed_callback_revokes_unless_another_connection_uses_the_company(world: World) -> None:
    state = world.start("s1")
    cookie = world.service.begin_authorization(state=state, cookie=None).cookie_value
    world.service.complete_authorization(state=state, cookie=cookie, code="c", realm_id="7", error=None)
    world.profile_error = UpstreamUnavailable("down", service="quickbooks")
    state = world.start("s2")
    cookie = world.service.begin_authorization(state=state, cookie=None).cookie_value
    location = world.service.complete_authorization(state=state, cookie=cookie, code="c", realm_id="7", error=None)
    assert "reason=quickbooks_unavailable" in location
    assert world.oauth.revoked == []  # "s1" is connected to company 7
    first = next(c for c in world.repository.connections.values() if c.subsidiary_id == "s1")
    world.repository.connections[first.connection_id] = first.with_changes(status=ConnectionStatus.DISCONNECTED)
    state = world.start("s3")
    cookie = world.service.begin_authorization(state=state, cookie=None).cookie_value
    world.service.complete_authorization(state=state, cookie=cookie, code="c", realm_id="7", error=None)
    assert len(world.oauth.revoked) == 1


def test_start_refuses_a_return_url_before_writing_anything(world: World) -> None:
    with pytest.raises(InvalidInput):
        world.service.start(
            organization_id="o", subsidiary_id="s", productive_api_token="pat", return_url="https://evil.example/"
        )
    assert world.repository.connections == {}
    assert world.repository.states == {}
    assert world.vault.secrets == {}


def test_state_ttl_is_ten_minutes(world: World) -> None:
    state = world.start()
    world.clock.advance(minutes=9, seconds=59)
    world.service.begin_authorization(state=state, cookie=None)
    assert timedelta(minutes=10) == next(iter(world.repository.states.values())).expires_at - (
        world.clock.now() - timedelta(minutes=9, seconds=59)
    )


# -- the activity log ------------------------------------------------------------------------------


def _connect(world: World, sub: str = "s1", realm_id: str = "7") -> str:
    state = world.start(sub)
    cookie = world.service.begin_authorization(state=state, cookie=None).cookie_value
    assert "connected" in world.service.complete_authorization(
        state=state, cookie=cookie, code="c", realm_id=realm_id, error=None
    )
    return next(c.connection_id for c in world.repository.connections.values() if c.subsidiary_id == sub)


def test_connect_settings_and_disconnect_are_logged(world: World) -> None:
    connection_id = _connect(world)
    world.service.update_settings(connection_id, ConnectionSettings(pdf_source="productive"))
    world.service.update_settings(connection_id, ConnectionSettings(pdf_source="productive"))  # nothing changed
    _connect(world)  # connect again (the same company): a reconnect
    world.service.disconnect(connection_id)
    world.service.disconnect(connection_id)  # already disconnected
    logged = [(e.kind, e.connection_id) for e in world.activity.entries]
    assert logged == [
        ("connected", connection_id),
        ("settings_changed", connection_id),
        ("connected", connection_id),
        ("disconnected", connection_id),
    ]
    connected, changed, reconnected, disconnected = world.activity.entries
    assert connected.details["company_name"] == "Co"
    assert connected.details["reconnect"] is False
    assert reconnected.details["reconnect"] is True
    assert reconnected.summary.startswith("Reconnected")
    assert changed.details["fields"] == ["pdf_source"]
    assert disconnected.details["access_revoked_at_intuit"] is True


def test_a_log_that_cannot_be_written_does_not_fail_the_connect(world: World) -> None:
    class Broken(InMemoryActivityLog):
        def record(self, activity: Any) -> None:
            raise ConnectionError("down")

    world.service._activity = QuietActivityLog(Broken())
    connection_id = _connect(world)
    assert world.repository.connections[connection_id].status is ConnectionStatus.CONNECTED
    assert world.service._activity.failures == 1
