"""API Gateway's part of the local stack: an HTTP API (payload format 2.0) in front of the functions.

Matches a request to the template's HttpApi routes the way API Gateway does, turns it into a
payload-2.0 event, invokes the route's function and turns its result into the HTTP response. Where
callers can tell, it behaves like API Gateway: no route -> 404 {"message":"Not Found"}, body over
10 MB -> 413, handler exception or timeout -> 500 {"message":"Internal Server Error"} (logged).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.lambda_runtime import ACCOUNT_ID, HandlerTimeout
from local.template import HttpRoute

logger = logging.getLogger("local.gateway")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit

#: Content types API Gateway passes as text; everything else arrives base64-encoded.
_TEXT_TYPE = re.compile(
    r"^(text/.*|application/(json|xml|javascript|graphql|[\w.+-]+\+json|[\w.+-]+\+xml))$", re.IGNORECASE
)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
JSON_HEADERS = [("Content-Type", "application/json")]


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class CompiledRoute:
    route: HttpRoute
    segments: tuple[str, ...]

    @classmethod
    def of(cls, route: HttpRoute) -> CompiledRoute:
        return cls(route, tuple(route.path.strip("/").split("/")) if route.path != "/" else ())

    @property
    def is_default(self) -> bool:
        return self.route.path == "$default"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route serves `method path`, else None."""
        if self.route.method not in ("ANY", method):
            return None
        if self.is_default:
            return {}
        parts = path[1:].split("/") if path not in ("", "/") else []  # a trailing slash is a segment
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.startswith("{") and segment.endswith("+}"):  # greedy, always last
                rest = parts[index:]
                if not rest or not all(rest):
                    return None
                params[segment[1:-2]] = unquote("/".join(rest))
                return params
            if index >= len(parts):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                if not parts[index]:
                    return None
                params[segment[1:-1]] = unquote(parts[index])
            elif segment != unquote(parts[index]):
                return None
        return params if len(parts) == len(self.segments) else None

    def specificity(self) -> tuple[int, ...]:
        """Lower is more specific: literal < {param} < {greedy+} per segment; a method beats ANY."""
        ranks = [2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in self.segments] or [0]
        return (1 if self.is_default else 0, *ranks, 1 if self.route.method == "ANY" else 0)


def find_route(routes: Iterable[CompiledRoute], method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
    """The route API Gateway would pick: the most specific match, `$default` last."""
    candidates = []
    for compiled in routes:
        params = compiled.match(method, path)
        if params is not None:
            candidates.append((compiled.specificity(), compiled, params))
    if not candidates:
        return None
    _, best, params = min(candidates, key=lambda candidate: candidate[0])
    return best.route, params


# --------------------------------------------------------------------------- events and responses


def is_text_content(content_type: str | None) -> bool:
    if not content_type:
        return False
    return bool(_TEXT_TYPE.match(content_type.split(";", 1)[0].strip()))


def build_http_event(
    *,
    method: str,
    raw_path: str,
    raw_query_string: str = "",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    route_key: str,
    path_parameters: Mapping[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    protocol: str = "HTTP/1.1",
    api_id: str = "local",
    domain_name: str | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-format-2.0 event, as API Gateway builds it: header names in
    lower case, repeated headers and query parameters joined with commas, cookies taken out of the
    headers, the body as text for text content types and base64 otherwise."""
    now = now or datetime.now(UTC)
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers.items() if isinstance(headers, Mapping) else headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined[lower] = f"{joined[lower]},{value}" if lower in joined else value
    domain = domain_name or joined.get("host", "localhost")
    joined.setdefault("host", domain)
    joined["x-forwarded-for"] = (
        f"{joined['x-forwarded-for']}, {source_ip}" if "x-forwarded-for" in joined else source_ip
    )
    joined.setdefault("x-forwarded-proto", "http")
    if ":" in domain:
        joined.setdefault("x-forwarded-port", domain.rsplit(":", 1)[1])
    joined.setdefault("x-amzn-trace-id", f"Root=1-{int(now.timestamp()):08x}-{secrets.token_hex(12)}")
    request_id = request_id or base64.b64encode(secrets.token_bytes(10)).decode()

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined
    if raw_query_string:
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query_string, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": protocol,
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        text: str | None = None
        if is_text_content(joined.get("content-type")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        event["body"] = text if text is not None else base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


@dataclass
class HttpResult:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class MalformedResponse(ValueError):
    """The handler returned something API Gateway cannot turn into a response (it answers 500)."""


def http_result(result: Any) -> HttpResult:
    """Turn a handler's return value into the HTTP response, as API Gateway (payload 2.0) does:
    a dict with statusCode is a response (headers, multiValueHeaders, cookies, body as a string,
    isBase64Encoded); anything else is a 200 application/json body. A response API Gateway would
    reject (statusCode not an integer, body not a string, headers not strings...) raises
    MalformedResponse."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResult(200, list(JSON_HEADERS), json.dumps(result).encode())
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode must be an integer HTTP status, got {status!r}")
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise MalformedResponse("headers must be an object")
    headers = []
    for name, value in raw_headers.items():
        if not isinstance(value, str | int | float | bool):
            raise MalformedResponse(f"header {name} must be a string, got {type(value).__name__}")
        headers.append((str(name), str(value).lower() if isinstance(value, bool) else str(value)))
    single = {name.lower() for name, _ in headers}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if name.lower() not in single:
            headers.extend((str(name), str(value)) for value in values)
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(cookie, str) for cookie in cookies):
        raise MalformedResponse("cookies must be a list of strings")
    headers.extend(("Set-Cookie", cookie) for cookie in cookies)
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponse(f"body must be a string, got {type(body).__name__}")
    if not body:
        payload = b""
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise MalformedResponse("isBase64Encoded is true but body is not base64") from error
    else:
        payload = body.encode("utf-8")
    return HttpResult(status, headers, payload)


def _message(status: int, message: str) -> HttpResult:
    return HttpResult(status, list(JSON_HEADERS), json.dumps({"message": message}).encode())


class HttpApi:
    """The WSGI application: routes a request, invokes the route's function, shapes the response."""

    def __init__(self, routes: Iterable[HttpRoute], invoke: Callable[[str, Any], Any], api_id: str = "local") -> None:
        self._compiled = [CompiledRoute.of(route) for route in routes]
        self._invoke = invoke
        self.api_id = api_id

    def wsgi_app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        result = self._handle(environ)
        headers = [(name, value) for name, value in result.headers if name.lower() != "content-length"]
        headers.append(("Content-Length", str(len(result.body))))
        headers.append(("Apigw-Requestid", environ.get("local.request_id", "")))
        try:
            reason = HTTPStatus(result.status).phrase
        except ValueError:
            reason = "Unknown"
        start_response(f"{result.status} {reason}", headers)
        return [result.body]

    def _handle(self, environ: dict[str, Any]) -> HttpResult:
        method = environ["REQUEST_METHOD"].upper()
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        raw_path = raw_uri.split("?", 1)[0] or "/"
        request_id = base64.b64encode(secrets.token_bytes(10)).decode()
        environ["local.request_id"] = request_id
        found = find_route(self._compiled, method, raw_path)
        if found is None:
            return _message(404, "Not Found")
        route, params = found
        declared = environ.get("CONTENT_LENGTH")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _message(413, "Request Entity Too Large")
        body = self._read_body(environ)
        if len(body) > MAX_BODY_BYTES:
            return _message(413, "Request Entity Too Large")
        event = build_http_event(
            method=method,
            raw_path=raw_path,
            raw_query_string=environ.get("QUERY_STRING", ""),
            headers=_request_headers(environ),
            body=body,
            route_key=route.route_key,
            path_parameters=params,
            source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            api_id=self.api_id,
            request_id=request_id,
        )
        try:
            result = self._invoke(route.function_id, event)
        except HandlerTimeout:
            logger.error("%s: %s timed out", route.route_key, route.function_id)
            return _message(500, "Internal Server Error")
        except Exception:
            logger.exception("%s: %s failed", route.route_key, route.function_id)
            return _message(500, "Internal Server Error")
        try:
            return http_result(result)
        except MalformedResponse as error:
            logger.error("%s: %s returned a malformed response: %s", route.route_key, route.function_id, error)
            return _message(500, "Internal Server Error")

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        if length and length.isdigit():
            data: bytes = stream.read(int(length))
            return data
        if environ.get("wsgi.input_terminated") or environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            chunks = []
            total = 0
            while total <= MAX_BODY_BYTES:
                chunk = stream.read(64 * 1024)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            return b"".join(chunks)
        return b""


def _request_headers(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), str(value)))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").lower(), str(value)))
    return headers


def decode_body(event: Mapping[str, Any]) -> bytes:
    """The raw request body of a payload-2.0 event (a helper for fixture handlers and tests)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise ValueError("body is not valid base64") from error
    return str(body).encode("utf-8")
