"""Schema-driven fuzzing (schemathesis) of the app routes in openapi.json against the local stack.

Every request is signed over the bytes actually sent (the Idempotency-Key line included when the
header is), so the fuzzer gets past the signature check and into the handlers. It requires no 5xx,
our error shape on every 4xx, and the statuses, content types and bodies openapi.json documents.
Some path ids are swapped for a connected connection and a copyable Productive invoice, so requests
reach QuickBooks and Productive too, not only the 404 of an unknown id.

`make test` runs QBOSYNC_FUZZ_EXAMPLES=300 generated examples, the same ones each run; `make fuzz` runs
3,000 with a new seed each time, plus schemathesis' coverage phase (QBOSYNC_FUZZ_THOROUGH=1)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from local.app_client import AppClient
from local.openapi import OPENAPI_PATH
from tests.integration.conftest import connect

EXAMPLES = int(os.environ.get("QBOSYNC_FUZZ_EXAMPLES", "300"))
# `make fuzz`: schemathesis' coverage phase too (boundary values, every negation, method and
# content-type probes: about 330 requests more), and a new random seed each run.
THOROUGH = os.environ.get("QBOSYNC_FUZZ_THOROUGH") == "1"
# The unsigned routes are not app routes: the browser's and Intuit's (tests of their own cover them).
UNSIGNED = r"^/(oauth|webhooks)/"
CONNECTION_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
INVOICE_ID = r"[0-9]{1,20}"


class Signer(requests.auth.AuthBase):
    """Signs the prepared request: the exact body bytes, path and query, and Idempotency-Key."""

    def __init__(self, secret: str):
        self.secret = secret.encode()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        assert isinstance(body, bytes), "schemathesis sends whole bodies, never streams"
        stamp = str(int(time.time()))
        lines = [stamp.encode(), str(request.method).upper().encode(), request.path_url.encode()]
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            # The server reads header values as Latin-1 text and signs them as UTF-8.
            lines.append((key.decode("latin-1") if isinstance(key, bytes) else key).encode("utf-8"))
        signature = hmac.new(self.secret, b"\n".join([*lines, body]), hashlib.sha256).hexdigest()
        request.headers["X-Qbosync-Timestamp"] = stamp
        request.headers["X-Qbosync-Signature"] = signature
        return request


@schemathesis.check
def our_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is {"error": {"code", "message", "details"}} with a snake_case code. A method the
    route does not have never reaches a handler: API Gateway itself answers 404 {"message": ...}."""
    if case.method.upper() != case.operation.method.upper():
        return None
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict), body
        assert set(body) == {"error"}, body
        error = body["error"]
        assert set(error) == {"code", "message", "details"}, error
        assert re.fullmatch(r"[a-z][a-z0-9_]*", str(error["code"])), error
        assert isinstance(error["message"], str), error
        assert error["message"], error
        assert isinstance(error["details"], dict), error
    return None


class Real:
    """Ids that exist: a connected US connection and its copyable demo invoice."""

    connection_id = ""
    invoice_id = ""


@pytest.fixture(scope="module")
def fuzz_stack(stack: Any, productive: Any) -> Any:
    demo = productive.seed_demo()
    with AppClient(stack.api_url, stack.signing_secret) as client:
        connected = connect(
            client,
            stack,
            realm_id=stack.emulator.US_REALM,
            org=demo.organization_id,
            sub=demo.subsidiary_us_id,
            productive_token=demo.api_token,
        )
        services = demo.service_type_ids
        response = client.put(
            f"/connections/{connected.connection_id}/settings",
            {"default_item_id": "1", "service_type_items": {services["Design"]: "2", services["Development"]: "3"}},
        )
        assert response.status_code == 200, response.text
    Real.connection_id, Real.invoice_id = connected.connection_id, demo.invoice_usd_id
    return stack


def _document() -> dict[str, Any]:
    """openapi.json without its security schemes: the Signer signs every request, so schemathesis
    must neither generate those headers nor count a request with them "negated" as invalid."""
    document: dict[str, Any] = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    document["components"].pop("securitySchemes", None)
    for operations in document["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    return document


schema = schemathesis.openapi.from_dict(_document()).exclude(path_regex=UNSIGNED)
schema.config.generation.update(max_examples=max(1, EXAMPLES // sum(1 for _ in schema.get_all_operations())))


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Half the time, ids that exist instead of well-formed ones (malformed ids stay: they are the
    negative cases; a DELETE keeps its id: it would disconnect ours)."""
    if not path_parameters or context.operation.method.upper() == "DELETE" or not Real.connection_id:
        return st.just(path_parameters)
    connection_id, invoice_id = path_parameters.get("connection_id"), path_parameters.get("invoice_id")
    if not re.fullmatch(CONNECTION_ID, str(connection_id)) or (
        invoice_id is not None and not re.fullmatch(INVOICE_ID, str(invoice_id))
    ):
        return st.just(path_parameters)
    real = {**path_parameters, "connection_id": Real.connection_id}
    if invoice_id is not None:
        real["invoice_id"] = Real.invoice_id
    return st.sampled_from([path_parameters, real])


@pytest.fixture(scope="module")
def signed_session(fuzz_stack: Any) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = Signer(fuzz_stack.signing_secret)
        yield session


@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    derandomize=not THOROUGH,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate] if THOROUGH else [hypothesis.Phase.generate],
)
def test_signed_fuzzing_gets_no_5xx_and_our_error_shape(
    case: Any, fuzz_stack: Any, signed_session: requests.Session
) -> None:
    response = case.call(base_url=fuzz_stack.api_url, session=signed_session)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            our_error_shape,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            negative_data_rejection,
        ],
    )
