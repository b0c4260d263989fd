"""`python -m local.sam_local.sign events/connections/get_connection.json`: print the event signed for the
running `make local-stack`, to pipe into `sam local invoke <Function> --event -`.

The sample events carry signatures made with a sample key long ago, so the handlers answer them 401
(events/README.md). This signs an app route with the stack's current signing key and the current time
(X-Qbosync-Timestamp / X-Qbosync-Signature, and the Idempotency-Key when the event has one), or
the webhook with its Intuit verifier token (intuit-signature). Browser routes (/oauth/...) are printed
unchanged. The keys are read from the stack's moto server: it must be running.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from local.sam_local.events import WEBHOOK_PATH, is_http_event, needs_signature, read_event
from local.sam_local.stack import DEFAULT_OUTPUT_DIR, STATE_JSON
from qbosync.api.events import exact_body
from qbosync.domain.signing import app_signature, intuit_webhook_signature

SIGNATURE_HEADERS = ("x-qbosync-timestamp", "x-qbosync-signature", "intuit-signature")


class StackNotRunning(RuntimeError):
    pass


def stack_state(stack_dir: Path | str = DEFAULT_OUTPUT_DIR) -> dict[str, Any]:
    path = Path(stack_dir) / STATE_JSON
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackNotRunning(f"{path} does not exist: start the stack first (make local-stack)") from None
    return state


def stack_keys(state: dict[str, Any]) -> tuple[str, str]:
    """(the current app signing key, the Intuit webhook verifier token) of the running stack."""
    import boto3
    import botocore.exceptions

    from local.aws import FAKE_CREDENTIALS

    client = boto3.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=state["region"],
    ).client("secretsmanager", endpoint_url=state["aws_endpoint_url"])
    try:
        signing = json.loads(client.get_secret_value(SecretId=state["secrets"]["app_signing"])["SecretString"])
        intuit_app = json.loads(client.get_secret_value(SecretId=state["secrets"]["intuit_app"])["SecretString"])
    except botocore.exceptions.EndpointConnectionError:
        raise StackNotRunning(f"nothing answers at {state['aws_endpoint_url']}: is make local-stack running?") from None
    return str(signing["current"]), str(intuit_app["webhook_verifier_token"])


def sign_event(
    event: dict[str, Any], *, signing_key: str, verifier_token: str, now: int | None = None
) -> dict[str, Any]:
    """The event with fresh signature headers (the old ones dropped); see the module docstring."""
    if not is_http_event(event):
        raise ValueError("only HTTP API (payload format 2.0) events are signed")
    signed = copy.deepcopy(event)
    if not needs_signature(signed):
        return signed
    headers = {
        name: value for name, value in (signed.get("headers") or {}).items() if name.lower() not in SIGNATURE_HEADERS
    }
    body = exact_body(signed)
    if body is None:
        raise ValueError("the event's body is flagged base64 but is not")
    if signed.get("rawPath") == WEBHOOK_PATH:
        headers["intuit-signature"] = intuit_webhook_signature(verifier_token, body)
    else:
        stamp = str(int(time.time()) if now is None else now)
        query = signed.get("rawQueryString") or ""
        path_and_query = str(signed.get("rawPath") or "/") + (f"?{query}" if query else "")
        method = str(signed["requestContext"]["http"]["method"])
        key = next((str(value) for name, value in headers.items() if name.lower() == "idempotency-key"), None)
        headers["x-qbosync-timestamp"] = stamp
        headers["x-qbosync-signature"] = app_signature(
            signing_key, stamp, method, path_and_query, body, idempotency_key=key
        )
    signed["headers"] = headers
    return signed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.sam_local.sign", description=__doc__.split("\n\n")[0])
    parser.add_argument("event", help="an HTTP API event file (events/...), or - for stdin")
    parser.add_argument("--stack-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="make local-stack's --output-dir")
    args = parser.parse_args(argv)
    event = json.load(sys.stdin) if args.event == "-" else read_event(args.event)
    try:
        signing_key, verifier_token = stack_keys(stack_state(args.stack_dir))
        signed = sign_event(event, signing_key=signing_key, verifier_token=verifier_token)
    except (StackNotRunning, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(signed, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
