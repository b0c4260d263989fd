"""Build the HTTP API's OpenAPI document from the handlers' Powertools resolvers.

python -m local.openapi            print it
python -m local.openapi --write    write openapi.json (committed; tests fail when it drifts)
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi import OpenAPIMerge

from local.lambda_runtime import LambdaRuntime
from local.template import EnvironmentPatch, load_template, placeholder_names

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_PATH = ROOT / "openapi.json"
# Every function that serves HTTP routes through a Powertools resolver named `app`.
HTTP_FUNCTIONS = ["connections", "copy_invoice", "oauth_callback"]
# Routes the browser or Intuit call: no app request signature.
PUBLIC_PATHS = {"/oauth/start", "/oauth/callback", "/webhooks/intuit"}

SIGNATURE = (
    "App-facing routes must carry X-Qbosync-Timestamp (unix seconds, within 300 s of our clock) and "
    "X-Qbosync-Signature: hex HMAC-SHA256, keyed with the signing secret, of "
    'timestamp + "\\n" + METHOD + "\\n" + path?query + "\\n" + raw body; a request that carries an '
    'Idempotency-Key header signs it too, on its own line before the body: timestamp + "\\n" + METHOD + '
    '"\\n" + path?query + "\\n" + key + "\\n" + raw body. Identical signed bytes are one request: a write '
    "(POST, PUT, DELETE) sent again within its window does not run again and gets the first successful "
    "response (409 request_in_progress while the first is still running); to repeat a write on purpose, "
    "sign it again with a new timestamp."
)
DESCRIPTION = (
    "Copy Productive invoices to QuickBooks Online and mirror QuickBooks payments back. "
    + SIGNATURE
    + " A body must be JSON sent as Content-Type: application/json (415 otherwise). "
    'Errors everywhere are {"error": {"code", "message", "details"}}.'
)


# payment_webhook reads the raw body itself (the signature covers the exact bytes) and keeps its
# imports light, so it has no Powertools resolver to generate this from.
WEBHOOK_SCHEMA: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "qbosync", "version": "1.0.0"},
    "paths": {
        "/webhooks/intuit": {
            "post": {
                "summary": "Intuit webhooks (payment sync)",
                "description": "Legacy {eventNotifications} or a CloudEvents array (several realms allowed). "
                "Payment changes of connected realms with payment sync on, and Invoice and CreditMemo "
                "update/void/delete of connected realms, are queued; "
                "anything else is answered 200 and counted, so Intuit does not retry it.",
                "operationId": "intuit_webhook",
                "parameters": [
                    {
                        "name": "intuit-signature",
                        "in": "header",
                        "required": True,
                        "description": "base64 HMAC-SHA256 of the raw body, keyed with the app's verifier token",
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array"}]}}},
                },
                "responses": {
                    "200": {"description": "Accepted (queued or counted as skipped)."},
                    "401": {
                        "description": "The signature is missing or wrong; nothing was queued.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                    },
                    "500": {"description": "The queue is unavailable; Intuit retries."},
                },
            }
        }
    },
}


def build_document() -> dict[str, Any]:
    merge = OpenAPIMerge(title="qbosync", version="1.0.0", description=DESCRIPTION, on_conflict="error")
    for name in sorted(HTTP_FUNCTIONS):
        module = _handler_module(name)
        merge.add_schema(module.app.get_openapi_schema(title="qbosync", version="1.0.0"))
    merge.add_schema(WEBHOOK_SCHEMA)
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    return _our_error_shape(document)


def _handler_module(name: str) -> Any:
    """The handler module; importing it checks its function's environment (qbosync.wiring.configure),
    so variables that are not set yet get the template's values with placeholder resource names."""
    runtime = LambdaRuntime(names=placeholder_names(load_template()))
    missing = {variable: value for variable, value in runtime.environment().items() if variable not in os.environ}
    patch = EnvironmentPatch(missing).apply()
    try:
        return importlib.import_module(f"functions.{name}.app")
    finally:
        patch.restore()


def _our_error_shape(document: dict[str, Any]) -> dict[str, Any]:
    """Powertools documents its own 422 body; ours reshapes it (qbosync.api.errors). Say so, and
    name the request signature that app-facing routes carry."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    document["components"]["securitySchemes"] = {
        "timestamp": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Qbosync-Timestamp",
            "description": "Unix seconds; refused when more than 300 s from our clock.",
        },
        "signature": {"type": "apiKey", "in": "header", "name": "X-Qbosync-Signature", "description": SIGNATURE},
    }
    for path, operations in document["paths"].items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "422" in responses and "HTTPValidationError" in json.dumps(responses["422"]):
                if path in PUBLIC_PATHS:
                    del responses["422"]
                else:
                    responses["422"] = {
                        "description": "The request is not valid (the message names the fields).",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                    }
            if "302" in responses:
                responses["302"].pop("content", None)  # a redirect has no body
            if path not in PUBLIC_PATHS:
                operation["security"] = [{"timestamp": [], "signature": []}]
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused not in json.dumps(document["paths"]):
            schemas.pop(unused, None)
    return document


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--write" in argv:
        OPENAPI_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {OPENAPI_PATH.name}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
