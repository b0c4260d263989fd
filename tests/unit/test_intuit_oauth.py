"""The Intuit OAuth adapter's refresh against a scripted token endpoint on a loopback socket: what it
retries (Intuit certainly did not act) and what it never sends twice (the answer may have been lost
after Intuit rotated the refresh token)."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qbosync.adapters.intuit_oauth import AuthlibIntuitOAuth
from qbosync.domain.errors import ReauthorizationRequired, RefreshOutcomeUnknown, UpstreamUnavailable

TOKENS = {
    "token_type": "bearer",
    "access_token": "eyJ-new",
    "expires_in": 3600,
    "refresh_token": "RT1-new",
    "x_refresh_token_expires_in": 8_726_400,
}


class TokenEndpoint:
    """Answers each POST with the next scripted step: an HTTP status (200 answers TOKENS), "silence"
    (reads the request, never answers) or "drop" (reads the request, closes the connection)."""

    def __init__(self, script: list[int | str]):
        self.script = list(script)
        self.received: list[str] = []  # the refresh_token of each request, in order
        self.release = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                fields = dict(part.split("=", 1) for part in body.split("&") if "=" in part)
                endpoint.received.append(fields.get("refresh_token", ""))
                step = endpoint.script.pop(0) if endpoint.script else 200
                if step == "silence":
                    endpoint.release.wait(30)
                    return
                if step == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                assert isinstance(step, int)
                payload = TOKENS if step == 200 else {"error": "invalid_grant"} if step == 400 else None
                data = json.dumps(payload).encode() if payload else b"Service Unavailable"
                self.send_response(step)
                self.send_header("Content-Type", "application/json" if payload else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth2/v1/tokens/bearer"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TokenEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def oauth(token_url: str, *, timeout: float = 10.0, budget: float = 20.0) -> AuthlibIntuitOAuth:
    return AuthlibIntuitOAuth(
        client_id="client",
        client_secret="secret",
        redirect_uri="http://127.0.0.1/cb",
        authorize_url="http://127.0.0.1/connect",
        token_url=token_url,
        revoke_url="http://127.0.0.1/revoke",
        now=lambda: datetime(2026, 11, 1, tzinfo=UTC),
        timeout_seconds=timeout,
        retry_wait_max_seconds=0.05,
        refresh_budget_seconds=budget,
    )


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/oauth2/v1/tokens/bearer"


def test_answers_that_say_intuit_did_nothing_are_retried() -> None:
    with TokenEndpoint([503, 429, 200]) as endpoint:
        tokens = oauth(endpoint.url).refresh("RT1-old")
    assert tokens.refresh_token == "RT1-new"
    assert endpoint.received == ["RT1-old"] * 3


def test_a_refused_connection_is_retried_then_a_503(closed_port_url: str) -> None:
    with pytest.raises(UpstreamUnavailable) as raised:
        oauth(closed_port_url).refresh("RT1-old")
    assert not isinstance(raised.value, RefreshOutcomeUnknown)


@pytest.mark.parametrize("step", ["drop", 500, 502, 504])
def test_a_request_intuit_may_have_acted_on_is_sent_once(step: int | str) -> None:
    with TokenEndpoint([step, 200]) as endpoint, pytest.raises(RefreshOutcomeUnknown) as raised:
        oauth(endpoint.url).refresh("RT1-old")
    assert endpoint.received == ["RT1-old"]
    assert raised.value.code == "token_refresh_outcome_unknown"
    assert "RT1" not in str(raised.value)


def test_an_answer_that_never_comes_is_not_waited_for_again() -> None:
    with TokenEndpoint(["silence"] * 4) as endpoint, pytest.raises(RefreshOutcomeUnknown):
        oauth(endpoint.url, timeout=1, budget=3).refresh("RT1-old")
    assert endpoint.received == ["RT1-old"]


def test_invalid_grant_is_not_retried() -> None:
    with TokenEndpoint([400, 200]) as endpoint, pytest.raises(ReauthorizationRequired):
        oauth(endpoint.url).refresh("RT1-old")
    assert endpoint.received == ["RT1-old"]
