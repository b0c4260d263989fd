"""Integration tests: real HTTP to the local gateway (which runs the real handlers), real boto3
calls to moto server, and the QuickBooks emulator over real sockets."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from local import browser
from local.app_client import AppClient
from local.productive_emulator import ProductiveEmulator
from local.stack import LocalStack
from tests.integration.iam_audit import recording_aws_calls, ungranted


class RecordingHandler(logging.Handler):
    """Keeps every log record the handlers emit, so tests can look for secrets in them."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.dumps(record.__dict__, default=str))


@pytest.fixture(scope="session")
def log_records() -> Iterator[RecordingHandler]:
    from aws_lambda_powertools import Logger

    Logger(service="qbosync")  # Powertools' own handler must stay the logger's first one
    handler = RecordingHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    logging.getLogger("qbosync").addHandler(handler)
    yield handler
    root.removeHandler(handler)
    logging.getLogger("qbosync").removeHandler(handler)


@pytest.fixture(scope="session", autouse=True)
def aws_calls_are_granted() -> Iterator[None]:
    """Every AWS action a handler used in these tests is granted to it by template.yaml."""
    with recording_aws_calls() as used:
        yield
    missing = ungranted(used)
    assert not missing, f"handlers used AWS actions their role does not grant: {missing}"


@pytest.fixture(scope="session")
def productive() -> Iterator[ProductiveEmulator]:
    with ProductiveEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def stack(log_records: RecordingHandler, productive: ProductiveEmulator) -> Iterator[LocalStack]:
    environment = {
        "PRODUCTIVE_API_BASE_URL": productive.base_url,
        # The tests' return_url is on app.productive.example; the wildcard form is exercised too.
        "ALLOWED_RETURN_URL_HOSTS": "app.productive.io,*.productive.example",
    }
    # Strict refresh-token rotation, the harder case: the old refresh token dies at once.
    with LocalStack(environment=environment, refresh_rotation="strict") as running:
        # Tests share the emulator's two companies; Intuit's per-realm throttle is tested on its own.
        running.emulator.set_throttling(enabled=False)
        yield running


@contextlib.contextmanager
def knobs_put_back(stack: LocalStack, productive: ProductiveEmulator) -> Iterator[None]:
    """Put back, on leaving, what was set on the shared stack and emulators: the QuickBooks emulator's
    clock, faults, token lifetimes, rotation, throttling, company time zones and one-shot consent,
    Productive's faults and rounding,
    and the service clock."""
    emulator = stack.emulator
    lifetimes = dataclasses.asdict(emulator.oauth.lifetimes)
    rotation = emulator.oauth.rotation
    throttling = emulator.throttle.enabled
    zones = {realm: emulator.timezone(realm) for realm in (emulator.US_REALM, emulator.UK_REALM)}
    drift = emulator.clock.now() - datetime.now(UTC)
    rounding = productive.rounding
    try:
        yield
    finally:
        emulator.faults.reset()
        emulator.clock.unfreeze()
        emulator.clock.advance((drift - (emulator.clock.now() - datetime.now(UTC))).total_seconds())
        emulator.set_token_lifetimes(**lifetimes)
        emulator.set_rotation(rotation)
        emulator.set_throttling(enabled=throttling)
        for realm, zone in zones.items():
            emulator.set_timezone(realm, zone)
        emulator.next_consent()  # a one-shot consent nobody used
        productive.faults.clear()
        productive.set_rounding(rounding)
        stack.shift_service_clock_reset()


@pytest.fixture(autouse=True)
def emulator_knobs_put_back(request: pytest.FixtureRequest) -> Iterator[None]:
    """The stack and the emulators are shared by every test of a session, and a worker runs tests of
    many files in random order: whatever a test sets on them is put back after it, passed or not, so
    no test depends on what ran before it."""
    if "stack" not in request.fixturenames:
        yield
        return
    with (
        connections_disconnected_after(),
        knobs_put_back(request.getfixturevalue("stack"), request.getfixturevalue("productive")),
    ):
        yield


@pytest.fixture(scope="session")
def responses_seen() -> list[str]:
    return []


@pytest.fixture
def app(stack: LocalStack, responses_seen: list[str]) -> Iterator[AppClient]:
    client = RecordingAppClient(stack.api_url, stack.signing_secret, responses_seen)
    yield client
    client.close()


class RecordingAppClient(AppClient):
    def __init__(self, api_url: str, secret: str, seen: list[str]):
        super().__init__(api_url, secret)
        self._seen = seen

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = super().request(method, path, **kwargs)
        self._seen.append(response.text + json.dumps(dict(response.headers)))
        return response


@pytest.fixture
def shift_clock(stack: LocalStack) -> Iterator[Any]:
    """Move the service's clock (not the emulator's) forward; put it back after the test."""
    yield stack.shift_service_clock
    stack.shift_service_clock_reset()


def wiring() -> Any:
    """The composition root the running handlers use (the gateway re-imports it on a cold start)."""
    return importlib.import_module("qbosync.wiring")


@dataclass
class Connected:
    connection_id: str
    organization_id: str
    subsidiary_id: str
    return_url: str


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def start_connection(
    app: AppClient, *, org: str | None = None, sub: str | None = None, productive_token: str | None = None
) -> dict[str, Any]:
    body = {
        "organization_id": org or unique("org"),
        "subsidiary_id": sub or unique("sub"),
        "productive_api_token": productive_token or "pat-" + uuid.uuid4().hex,
        "return_url": "https://app.productive.example/settings/integrations/quickbooks?tab=1",
    }
    response = app.post("/connections", body)
    assert response.status_code == 201, response.text
    started = {**body, **response.json()}
    _started_connections.append(_Started(app.reopened, started["connection_id"]))
    return started


@dataclass(frozen=True)
class _Started:
    client: Callable[[], AppClient]
    connection_id: str


# Every connection a test or fixture starts, so it can be disconnected when they end: the shared
# companies' events fan out to every connection connected to them, and leftovers would slow every
# later test.
_started_connections: list[_Started] = []


@contextlib.contextmanager
def connections_disconnected_after() -> Iterator[None]:
    """Disconnect, on leaving, the connections started inside (already disconnected ones answer 4xx)."""
    mark = len(_started_connections)
    try:
        yield
    finally:
        started = _started_connections[mark:]
        del _started_connections[mark:]
        for item in started:
            with item.client() as client:
                client.delete(f"/connections/{item.connection_id}")


@pytest.fixture(scope="module", autouse=True)
def module_connections_disconnected() -> Iterator[None]:
    with connections_disconnected_after():
        yield


def follow_consent(stack: LocalStack, authorize_url: str, *, realm_id: str | None = None) -> str:
    """The browser's part: our start page, Intuit's consent page (auto-approved by the emulator), then
    our callback. Returns the final Location (the connection's return_url with the outcome)."""
    if realm_id:
        stack.emulator.next_consent(realm_id=realm_id)
    callback = browser.consent(authorize_url)
    assert callback.status_code == 302, callback.text
    return str(callback.headers["location"])


def outcome(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def connect(
    app: AppClient,
    stack: LocalStack,
    *,
    realm_id: str | None = None,
    org: str | None = None,
    sub: str | None = None,
    productive_token: str | None = None,
) -> Connected:
    started = start_connection(app, org=org, sub=sub, productive_token=productive_token)
    location = follow_consent(stack, started["authorize_url"], realm_id=realm_id or stack.emulator.US_REALM)
    assert outcome(location)["status"] == "connected", location
    return Connected(
        connection_id=started["connection_id"],
        organization_id=started["organization_id"],
        subsidiary_id=started["subsidiary_id"],
        return_url=started["return_url"],
    )


@pytest.fixture
def us(app: AppClient, stack: LocalStack, productive: ProductiveEmulator) -> Any:
    """The demo organization's US subsidiary connected to the US company, items mapped."""
    from tests.integration.copy_world import World

    return World(app, stack, productive, stack.emulator.US_REALM)


@pytest.fixture
def uk(app: AppClient, stack: LocalStack, productive: ProductiveEmulator) -> Any:
    """The demo organization's UK subsidiary connected to the UK company, items mapped."""
    from tests.integration.copy_world import World

    return World(app, stack, productive, stack.emulator.UK_REALM)
