"""The WSGI application: URL routing, the API gateway (auth, throttles, injected faults), logging."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.qbo_emulator import faults, jsonutil
from local.qbo_emulator.api import JSON_TYPE, Api, ApiContext, ApiResult
from local.qbo_emulator.entities import attachable, registry

if TYPE_CHECKING:
    from local.qbo_emulator.emulator import QboEmulator

StartResponse = Callable[..., Any]

URLS = Map(
    [
        Rule("/", endpoint="index", methods=["GET"]),
        Rule("/connect/oauth2", endpoint="authorize", methods=["GET"]),
        Rule("/oauth2/v1/tokens/bearer", endpoint="token", methods=["POST"]),
        Rule("/v2/oauth2/tokens/revoke", endpoint="revoke", methods=["POST"]),
        Rule("/.well-known/openid_configuration/", endpoint="discovery", methods=["GET"]),
        Rule("/.well-known/openid_sandbox_configuration/", endpoint="discovery", methods=["GET"]),
        Rule("/op/v1/jwks", endpoint="jwks", methods=["GET"]),
        Rule("/v1/openid_connect/userinfo", endpoint="userinfo", methods=["GET"]),
        Rule("/v3/company/<realm_id>/<path:rest>", endpoint="api", methods=["GET", "POST"]),
        Rule("/v3/download/<realm_id>/<object_id>/<token>", endpoint="download", methods=["GET"]),
    ]
)


# Set on a request's environ once the injected latency was spent on it (the gateway spends it while the
# request holds a concurrency slot); every other answer gets it just before it is sent.
_LATENCY_SPENT = "qbo_emulator.latency_spent"


class _DropConnection(Exception):
    """Raised after a committed write (or token request) when the connection must close without an answer."""


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[tuple[str, str, int]] = []

    def add(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._entries.append((method, path, status))

    def entries(self) -> list[tuple[str, str, int]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _tid() -> str:
    return f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"


class EmulatorApp:
    """WSGI callable. Holds no state of its own: everything lives on the emulator."""

    def __init__(self, emulator: QboEmulator) -> None:
        self.emu = emulator
        self.api = Api()
        registry.register(self.api)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except _DropConnection as exc:
            self.emu.request_log_store.add(request.method, request.path, 0)
            sock = environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            raise ConnectionResetError("write committed; connection dropped by fault injection") from exc
        if not environ.get(_LATENCY_SPENT):
            self._spend_latency(environ)
        self.emu.request_log_store.add(request.method, request.path, response.status_code)
        if "intuit_tid" not in response.headers:
            response.headers["intuit_tid"] = _tid()
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = URLS.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            if request.path.startswith("/v3/"):
                return self._fault_response(
                    faults.unsupported_operation(f"Operation {request.path} is not supported.", status=404)
                )
            return Response("Not Found", status=404, content_type="text/plain")
        except MethodNotAllowed as exc:
            return exc.get_response(request.environ)
        except HTTPException as exc:  # e.g. the trailing-slash redirect of the discovery documents
            return exc.get_response(request.environ)
        oauth = self.emu.oauth
        if endpoint == "authorize":
            return oauth.authorize(request)
        if endpoint == "token":
            failure = self.emu.faults.take_token_failure()
            if failure is not None:
                return Response("Service Unavailable", status=failure, content_type="text/plain")
            answer = oauth.token(request)
            if self.emu.faults.take_token_drop():
                raise _DropConnection
            return answer
        if endpoint == "revoke":
            return oauth.revoke(request)
        if endpoint == "discovery":
            return self._json(oauth.discovery(self.emu.base_url))
        if endpoint == "jwks":
            return oauth.jwks()
        if endpoint == "userinfo":
            return oauth.userinfo(request)
        if endpoint == "download":
            return self.download(str(values["realm_id"]), str(values["object_id"]), str(values["token"]))
        if endpoint == "api":
            return self.gateway(request, str(values["realm_id"]), str(values["rest"]))
        return self._json(
            {
                "emulator": "QuickBooks Online Accounting API v3 emulator",
                "discovery": f"{self.emu.base_url}/.well-known/openid_sandbox_configuration/",
                "api": f"{self.emu.base_url}/v3",
                "realms": self.emu.store.ids(),
            }
        )

    def download(self, realm_id: str, object_id: str, token: str) -> Response:
        """The attachment behind an Attachable's TempDownloadUri (no bearer token, like a signed URL)."""
        realm = self.emu.store.get(realm_id)
        found = None
        if realm is not None:
            with realm.lock:
                found = attachable.download(realm.get("Attachable", object_id), token)
        if found is None:
            return Response("Not Found", status=404, content_type="text/plain")
        content, content_type = found
        return Response(content, status=200, content_type=content_type)

    def _spend_latency(self, environ: dict[str, Any]) -> None:
        environ[_LATENCY_SPENT] = True
        delay = self.emu.faults.current_latency()
        if delay:
            time.sleep(delay)

    @staticmethod
    def _json(body: dict[str, Any], status: int = 200) -> Response:
        return Response(jsonutil.dumps(body), status=status, content_type=JSON_TYPE)

    def _fault_response(self, fault: faults.QboFault, tid: str | None = None) -> Response:
        response = Response(
            jsonutil.dumps(fault.body(self.emu.clock.now())), status=fault.status, content_type=JSON_TYPE
        )
        response.headers["intuit_tid"] = tid or _tid()
        for name, value in fault.headers.items():
            response.headers[name] = value
        return response

    def _auth_failure(self, status: int, detail: str, tid: str) -> Response:
        body = faults.gateway_auth_body(self.emu.clock.now(), status=status, detail=detail)
        response = Response(jsonutil.dumps(body), status=status, content_type=JSON_TYPE)
        response.headers["intuit_tid"] = tid
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="Intuit", error="invalid_token"'
        return response

    def gateway(self, request: Request, realm_id: str, rest: str) -> Response:
        tid = _tid()
        injector = self.emu.faults
        if injector.take_throttle():
            return self._fault_response(faults.throttled(), tid)
        failure = injector.take_failure()
        if failure is not None:
            return self._fault_response(faults.system_fault(failure), tid)
        auth = self.emu.oauth.authenticate(request.headers.get("Authorization"))
        if not auth.ok or auth.token is None:
            return self._auth_failure(401, auth.detail, tid)
        realm = self.emu.store.get(realm_id)
        if realm is None:
            return self._auth_failure(403, f"Authorization failed: no company {realm_id} is connected to this app", tid)
        if auth.token.grant.realm_id != realm_id:
            return self._auth_failure(401, "Token expired: token was issued for a different company", tid)
        client_id = auth.token.grant.client_id
        throttle = self.emu.throttle
        if not throttle.acquire(realm_id, client_id):
            return self._fault_response(faults.throttled(), tid)
        if rest.strip("/") == "batch" and request.method == "POST" and not throttle.acquire_batch(realm_id, client_id):
            throttle.release(realm_id, client_id)
            return self._fault_response(faults.throttled(), tid)
        try:
            self._spend_latency(request.environ)  # while holding a concurrency slot
            ctx = ApiContext(
                realm=realm,
                client_id=client_id,
                request=request,
                now=self.emu.clock.now(),
                segments=[seg for seg in rest.split("/") if seg],
            )
            try:
                result = self.api.handle(ctx)
            except faults.QboFault as fault:
                return self._fault_response(fault, tid)
            self.emu.webhooks.publish(ctx.events)
        finally:
            throttle.release(realm_id, client_id)
        if result.is_write and injector.take_drop():
            raise _DropConnection
        return self._result_response(result, tid)

    @staticmethod
    def _result_response(result: ApiResult, tid: str) -> Response:
        response = Response(result.body, status=result.status, content_type=result.content_type)
        response.headers["intuit_tid"] = tid
        for name, value in result.headers.items():
            response.headers[name] = value
        return response
