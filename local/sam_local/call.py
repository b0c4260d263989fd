"""`python -m local.sam_local.call GET /connections/<id>`: one signed request to `sam local start-api`
(started with the commands `make local-stack` prints), as Productive's backend would send it; prints the
status and the body."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from local.app_client import AppClient
from local.sam_local.sign import StackNotRunning, stack_keys, stack_state
from local.sam_local.stack import DEFAULT_OUTPUT_DIR


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.sam_local.call", description=__doc__)
    parser.add_argument("method", type=str.upper, choices=["GET", "POST", "PUT", "DELETE"])
    parser.add_argument("path", help="path and query, e.g. /connections/<id>/quickbooks/customers?search=Acme")
    parser.add_argument("body", nargs="?", help="a JSON body")
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="e.g. Idempotency-Key:k1")
    parser.add_argument("--stack-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="make local-stack's --output-dir")
    parser.add_argument("--api-url", help="where sam local start-api listens (default: the stack's)")
    args = parser.parse_args(argv)
    try:
        state = stack_state(args.stack_dir)
        signing_key, _ = stack_keys(state)
    except StackNotRunning as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    headers = dict(header.split(":", 1) for header in args.header if ":" in header)
    body = json.loads(args.body) if args.body else None
    # sam local start-api starts a container per request: the first ones take a while.
    with AppClient(args.api_url or state["api_url"], signing_key, timeout=120) as client:
        try:
            response = client.request(args.method, args.path, json_body=body, headers=headers)
        except httpx.TransportError as error:
            print(f"error: {error}: is sam local start-api running?", file=sys.stderr)
            return 2
    print(response.status_code)
    print(response.text)
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
