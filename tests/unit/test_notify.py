"""The reconnect warning notifier (adapters/notify.py) against an httpx mock transport, and NOTIFY_URL's
configuration."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest

from qbosync.adapters.notify import HttpReconnectNotifier
from qbosync.config import ConfigurationError, TokenRefreshSettings
from qbosync.domain.health import NotificationFailed, ReconnectWarning
from qbosync.domain.signing import signature_problem

SECRET = "notify-secret-for-tests"
NOW = 1_900_000_000.0
WARNING = ReconnectWarning(
    connection_id="c1",
    organization_id="org",
    subsidiary_id="sub",
    reason="hard_expiry_30d",
    episode=datetime(2030, 3, 1, 12, tzinfo=UTC),
    days_left=29,
    reconnect_required_by=date(2030, 2, 28),
)


def notifier(answers: list[int], seen: list[httpx.Request]) -> HttpReconnectNotifier:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answers.pop(0) if answers else 204)

    return HttpReconnectNotifier(
        http=httpx.Client(transport=httpx.MockTransport(handle)),
        url="https://backend.productive.example/hooks/qbosync?v=1",
        signing_secret=lambda: SECRET,
        now_epoch=lambda: NOW,
        retry_wait_max_seconds=0,
    )


def problem(request: httpx.Request, secrets: list[str]) -> str | None:
    return signature_problem(
        secrets=secrets,
        timestamp=request.headers.get("x-qbosync-timestamp"),
        signature=request.headers.get("x-qbosync-signature"),
        method=request.method,
        path_and_query=request.url.raw_path.decode(),
        body=request.content,
        now_epoch=NOW,
        idempotency_key=request.headers.get("idempotency-key"),
    )


def test_the_warning_is_posted_signed_like_an_app_request_the_other_way_round() -> None:
    seen: list[httpx.Request] = []
    notifier([], seen).send(WARNING)
    (request,) = seen
    assert request.method == "POST"
    assert request.url.raw_path == b"/hooks/qbosync?v=1"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == WARNING.warning_id
    assert problem(request, [SECRET]) is None
    assert problem(request, ["another secret"]) == "signature does not match"
    body = httpx.Response(200, content=request.content).json()
    assert body == {
        "event": "reconnect_warning",
        "warning_id": WARNING.warning_id,
        "connection_id": "c1",
        "organization_id": "org",
        "subsidiary_id": "sub",
        "reason": "hard_expiry_30d",
        "reconnect_required_by": "2030-02-28",
        "days_left": 29,
    }


def test_a_5xx_or_429_is_retried_with_the_same_body_and_id() -> None:
    seen: list[httpx.Request] = []
    notifier([500, 429], seen).send(WARNING)
    assert len(seen) == 3
    assert {request.content for request in seen} == {seen[0].content}
    assert {request.headers["idempotency-key"] for request in seen} == {WARNING.warning_id}
    assert all(problem(request, [SECRET]) is None for request in seen)


def test_a_lasting_outage_and_a_refusal_raise_notification_failed() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(NotificationFailed):
        notifier([503, 503, 503, 503], seen).send(WARNING)
    assert len(seen) == 3
    seen.clear()
    with pytest.raises(NotificationFailed, match="HTTP 401"):
        notifier([401], seen).send(WARNING)
    assert len(seen) == 1  # a refusal is not retried


def test_a_dropped_connection_is_retried() -> None:
    calls: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(204)

    HttpReconnectNotifier(
        http=httpx.Client(transport=httpx.MockTransport(handle)),
        url="https://backend.productive.example/hooks",
        signing_secret=lambda: SECRET,
        now_epoch=lambda: NOW,
        retry_wait_max_seconds=0,
    ).send(WARNING)
    assert len(calls) == 2


BASE = {
    "POWERTOOLS_SERVICE_NAME": "qbosync",
    "POWERTOOLS_METRICS_NAMESPACE": "qbosync",
    "TABLE_NAME": "t",
    "INTUIT_APP_SECRET_ID": "i",
    "CONNECTION_SECRET_PREFIX": "p/",
    "NOTIFY_SIGNING_SECRET_ID": "n",
}


@pytest.mark.parametrize(
    "url",
    ["https://backend.productive.example/hooks", "http://127.0.0.1:8123/hooks", "http://host.docker.internal:9/x"],
)
def test_notify_url_is_https_or_this_machine(url: str) -> None:
    assert TokenRefreshSettings.from_env({**BASE, "NOTIFY_URL": url}).notify_url == url


@pytest.mark.parametrize(
    "url", ["http://backend.productive.example/hooks", "backend.productive.example", "https://u:p@host/x", "ftp://x/y"]
)
def test_a_notify_url_that_is_not_https_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="NOTIFY_URL is invalid"):
        TokenRefreshSettings.from_env({**BASE, "NOTIFY_URL": url})


def test_no_notify_url_is_allowed_and_the_secret_is_required() -> None:
    assert TokenRefreshSettings.from_env({**BASE, "NOTIFY_URL": " "}).notify_url is None
    without = {name: value for name, value in BASE.items() if name != "NOTIFY_SIGNING_SECRET_ID"}
    with pytest.raises(ConfigurationError, match="NOTIFY_SIGNING_SECRET_ID is not set"):
        TokenRefreshSettings.from_env(without)
