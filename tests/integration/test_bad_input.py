"""Bad input on every route gets a 4xx in the documented shape and writes nothing."""

from __future__ import annotations

import os
import time
import uuid

import boto3
import httpx
import pytest

from qbosync.domain.connection import connection_id_for
from tests.integration.conftest import unique

ROUTES = [
    ("POST", "/connections"),
    ("GET", "/connections/abc"),
    ("PUT", "/connections/abc/settings"),
    ("GET", "/connections/abc/quickbooks/customers"),
    ("GET", "/connections/abc/quickbooks/items"),
    ("GET", "/connections/abc/quickbooks/tax-codes"),
    ("GET", "/connections/abc/activity"),
    ("DELETE", "/connections/abc"),
]


def _is_error_shape(body: dict, code: str | None = None) -> bool:
    error = body.get("error", {})
    return set(error) == {"code", "message", "details"} and (code is None or error["code"] == code)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_missing_signature_is_401(app, method, path) -> None:
    response = app.request(method, path, sign=False)
    assert response.status_code == 401
    assert _is_error_shape(response.json(), "invalid_signature")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_wrong_signature_is_401(app, method, path) -> None:
    response = app.request(method, path, headers={"X-Qbosync-Signature": "0" * 64})
    assert response.status_code == 401


def test_stale_timestamp_is_401(app) -> None:
    response = app.get("/connections/abc", timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert "window" in response.json()["error"]["message"]


def test_signature_over_a_different_body_is_401(app) -> None:
    signed = app.request("POST", "/connections", json_body={"a": 1})
    assert signed.status_code == 422  # correctly signed, just invalid
    # Same headers, changed body.
    from local.app_client import AppClient

    assert isinstance(app, AppClient)
    body = b'{"a": 2}'
    stamp = str(int(time.time()))
    from qbosync.domain.signing import app_signature

    good = app_signature(app._secret, stamp, "POST", "/connections", b'{"a": 1}')
    response = app.request(
        "POST",
        "/connections",
        raw_body=body,
        sign=False,
        headers={"X-Qbosync-Timestamp": stamp, "X-Qbosync-Signature": good, "Content-Type": "application/json"},
    )
    assert response.status_code == 401


def test_malformed_json_is_400(app) -> None:
    response = app.request("POST", "/connections", raw_body=b"{not json")
    assert response.status_code == 400
    assert _is_error_shape(response.json(), "malformed_json")


def test_wrong_types_are_422_and_nothing_is_written(app, stack) -> None:
    org, sub = unique("org"), unique("sub")
    response = app.post(
        "/connections",
        {"organization_id": org, "subsidiary_id": sub, "productive_api_token": 42, "return_url": "x"},
    )
    assert response.status_code == 422
    assert _is_error_shape(response.json(), "validation_error")
    connection_id = connection_id_for(org, sub)
    table = boto3.resource("dynamodb", endpoint_url=stack.aws.endpoint_url).Table(os.environ["TABLE_NAME"])
    assert "Item" not in table.get_item(Key={"pk": f"CONNECTION#{connection_id}", "sk": "CONNECTION"})
    assert app.get(f"/connections/{connection_id}").status_code == 404


@pytest.mark.parametrize("return_url", ["not a url", "ftp://example.com/x", "http://evil.example/cb", "/relative/path"])
def test_return_url_must_be_absolute_https(app, return_url) -> None:
    response = app.post(
        "/connections",
        {"organization_id": "o1", "subsidiary_id": "s1", "productive_api_token": "t", "return_url": return_url},
    )
    assert response.status_code == 422
    assert "return_url" in response.text


def test_unknown_fields_are_refused(app) -> None:
    response = app.post(
        "/connections",
        {
            "organization_id": "o1",
            "subsidiary_id": "s1",
            "productive_api_token": "t",
            "return_url": "https://x.example",
            "extra": True,
        },
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/connections/nope"),
        ("PUT", "/connections/nope/settings"),
        ("GET", "/connections/nope/quickbooks/items"),
        ("GET", "/connections/nope/activity"),
        ("DELETE", "/connections/nope"),
    ],
)
def test_unknown_connection_is_404(app, method, path) -> None:
    response = app.request(method, path, json_body={} if method == "PUT" else None)
    assert response.status_code == 404, response.text
    assert _is_error_shape(response.json(), "connection_not_found")


def test_oversized_body_is_413(app) -> None:
    response = app.request("POST", "/connections", raw_body=b'{"x": "' + b"a" * 300_000 + b'"}')
    assert response.status_code == 413
    assert _is_error_shape(response.json(), "payload_too_large")


def test_query_parameter_too_long_is_422(app, stack) -> None:
    response = app.get(f"/connections/{uuid.uuid4()}/quickbooks/customers", params={"search": "x" * 500})
    assert response.status_code == 422


# --------------------------------------------------------------------------- bodies we cannot read (issue 7 part 9)

JSON_ROUTES = [
    ("POST", "/connections"),
    ("PUT", f"/connections/{uuid.UUID(int=1)}/settings"),
    ("POST", f"/connections/{uuid.UUID(int=1)}/invoices/1/copies"),
]


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize("body", [b'{"mode": "\xff\xfe"}', b"\xc3\x28", b'{"organization_id": "\xe9"}'])
def test_a_body_that_is_not_utf8_is_400(app, method, path, body) -> None:
    response = app.request(method, path, raw_body=body)
    assert response.status_code == 400, response.text
    assert _is_error_shape(response.json(), "malformed_json")


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/octet-stream", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_body_that_is_not_sent_as_json_is_415(app, method, path, content_type) -> None:
    response = app.request(method, path, raw_body=b'{"mode": "create"}', headers={"Content-Type": content_type})
    assert response.status_code == 415, response.text
    assert _is_error_shape(response.json(), "unsupported_media_type")


def test_a_body_without_a_content_type_is_415_and_json_with_a_charset_is_fine(app, stack) -> None:
    body = b'{"organization_id": "o1"}'
    headers = {**stack.sign("POST", "/connections", body)}
    bare = httpx.post(f"{stack.api_url}/connections", content=body, headers=headers)
    assert bare.status_code == 415
    assert _is_error_shape(bare.json(), "unsupported_media_type")
    typed = app.request(
        "POST", "/connections", raw_body=body, headers={"Content-Type": "Application/JSON; charset=utf-8"}
    )
    assert typed.status_code == 422  # read as JSON: only the fields are wrong
    # Bodiless routes need no Content-Type.
    assert app.get(f"/connections/{uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize("depth", [100_000, 2_000, 33])
def test_json_nested_too_deep_is_400(app, method, path, depth) -> None:
    response = app.request(method, path, raw_body=b"[" * depth + b"]" * depth)
    assert response.status_code == 400, response.text
    assert _is_error_shape(response.json(), "malformed_json")
    nested = b'{"service_type_items": {"a": ' + b"[" * depth + b"]" * depth + b"}}"
    assert app.request(method, path, raw_body=nested).status_code == 400


def test_an_integer_longer_than_python_converts_is_400(app) -> None:
    response = app.request("POST", "/connections", raw_body=b'{"organization_id": ' + b"9" * 5000 + b"}")
    assert response.status_code == 400
    assert _is_error_shape(response.json(), "malformed_json")


# --------------------------------------------------------------------------- path ids (issue 7 part 9)


@pytest.fixture(scope="module")
def connection_id(stack) -> str:
    from local.app_client import AppClient
    from tests.integration.conftest import connect

    with AppClient(stack.api_url, stack.signing_secret) as client:
        return connect(client, stack).connection_id


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("invoice_id", ["9" * 3000, "x" * 2100, "12a", "-1", "\uff11\uff12"])
def test_an_invoice_id_that_is_not_productive_digits_is_404(app, connection_id, method, invoice_id) -> None:
    path = f"/connections/{connection_id}/invoices/{invoice_id}/copies"
    response = app.request(method, path, json_body={} if method == "POST" else None)
    assert response.status_code == 404, response.text
    assert _is_error_shape(response.json(), "invoice_not_found")


@pytest.mark.parametrize(
    "connection_id",
    ["a" * 3000, "6F1B8A52-3C1E-4F0E-9A57-2D8F3B7C9E10", "6f1b8a52-3c1e-4f0e-9a57-2d8f3b7c9e100", "..%2F..%2Fx", "%00"],
)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("PUT", "/settings"), ("DELETE", ""), ("GET", "/quickbooks/items"), ("POST", "/invoices/1/copies")],
)
def test_a_connection_id_that_is_not_a_uuid_is_404(app, connection_id, method, suffix) -> None:
    response = app.request(
        method, f"/connections/{connection_id}{suffix}", json_body={} if method in {"PUT", "POST"} else None
    )
    assert response.status_code == 404, response.text
    assert _is_error_shape(response.json(), "connection_not_found")


def test_a_signature_with_non_ascii_characters_is_401(app) -> None:
    response = app.request("GET", f"/connections/{uuid.uuid4()}", headers={"X-Qbosync-Signature": "é".encode() * 64})
    assert response.status_code == 401, response.text
    assert _is_error_shape(response.json(), "invalid_signature")


@pytest.mark.parametrize("query", [{"serach": "acme"}, {"": "false"}, {"search": "acme", "limit": "5"}])
def test_an_unknown_query_parameter_is_422(app, connection_id, query) -> None:
    response = app.get(f"/connections/{connection_id}/quickbooks/customers", params=query)
    assert response.status_code == 422, response.text
    assert _is_error_shape(response.json(), "validation_error")
    assert app.get(f"/connections/{connection_id}/quickbooks/customers", params={"search": "acme"}).status_code == 200
