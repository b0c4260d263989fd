"""What replay protection costs: DynamoDB write calls per app request, by kind of request, counted from
the real boto3 calls the handlers make against the local stack (moto server).

A signed write keeps one record per request (qbosync.api.replay): Powertools puts it "in progress"
before the route runs (a conditional PutItem) and stores the sealed response after (UpdateItem); an
error deletes it instead (DeleteItem). A copy that carries an Idempotency-Key keeps only its key
record, which existed before replay protection. Reads keep none.

Target (issue 7): at most 1 extra DynamoDB write call per app request."""

from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bench.stack import aws_calls, bench_stack, connect_demo, demo_settings
from local.stack import LocalStack

WRITE_CALLS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
TARGET = 1


@contextmanager
def dynamodb_writes() -> Iterator[list[tuple[str, str]]]:
    """Every DynamoDB write call made while inside, as (operation, what it wrote): "replay" for a replay
    record, "key" for an Idempotency-Key record, "route" for anything else."""
    seen: list[tuple[str, str]] = []
    with aws_calls() as calls:
        yield seen
    for call in calls:
        if call.service == "dynamodb" and call.operation in WRITE_CALLS:
            key = json.dumps(call.params.get("Key") or call.params.get("Item") or {}, default=str)
            kind = "replay" if "qbosync.api.replay" in key else "key" if "IDEMPOTENCY" in key else "route"
            seen.append((call.operation, kind))


@dataclass(frozen=True)
class Request:
    """A signed request as bytes, so it can be sent again exactly."""

    method: str
    path: str
    body: bytes
    headers: dict[str, str]

    @classmethod
    def signed(cls, stack: LocalStack, method: str, path: str, body: Any = None, key: str | None = None) -> Request:
        raw = json.dumps(body).encode() if body is not None else b""
        headers = stack.sign(method, path, raw, idempotency_key=key)
        if raw:
            headers["Content-Type"] = "application/json"
        return cls(method, path, raw, headers)

    def send(self, stack: LocalStack) -> httpx.Response:
        return httpx.request(
            self.method, stack.api_url + self.path, content=self.body, headers=self.headers, timeout=30
        )


def run() -> list[str]:
    lines = [
        "Replay protection: DynamoDB write calls per app request, counted on the local stack "
        f"(target <= {TARGET} extra)"
    ]
    with bench_stack() as (productive, stack, app):
        demo = productive.seed_demo()
        connection_id = connect_demo(stack, app, demo, stack.emulator.US_REALM)
        settings = demo_settings(demo)
        # Not the measured body: a request signed in the same second with the same bytes would be a replay.
        assert (
            app.put(f"/connections/{connection_id}/settings", {**settings, "memo_source": "subject"}).status_code == 200
        )
        importlib.import_module("qbosync.wiring")  # the handlers are warm: no first-use writes counted
        copies = f"/connections/{connection_id}/invoices/{demo.invoice_usd_id}/copies"
        spare = connect_demo(stack, app, demo, stack.emulator.UK_REALM)  # a second one, to disconnect

        cases: list[tuple[str, Request, int]] = [
            (
                "POST /connections",
                Request.signed(
                    stack,
                    "POST",
                    "/connections",
                    {
                        "organization_id": "bench" + uuid.uuid4().hex[:8],
                        "subsidiary_id": "s1",
                        "productive_api_token": "pat-bench",
                        "return_url": "https://app.productive.io/bench",
                    },
                ),
                201,
            ),
            (
                "PUT /connections/{id}/settings",
                Request.signed(stack, "PUT", f"/connections/{connection_id}/settings", settings),
                200,
            ),
            ("DELETE /connections/{id}", Request.signed(stack, "DELETE", f"/connections/{spare}"), 204),
            ("POST .../copies (no Idempotency-Key)", Request.signed(stack, "POST", copies, {"mode": "create"}), 201),
            (
                "POST .../copies (Idempotency-Key)",
                Request.signed(stack, "POST", copies, {"mode": "create"}, key="bench-1"),
                201,
            ),
            ("GET /connections/{id}", Request.signed(stack, "GET", f"/connections/{connection_id}"), 200),
            (
                "GET .../quickbooks/items",
                Request.signed(stack, "GET", f"/connections/{connection_id}/quickbooks/items"),
                200,
            ),
            ("GET .../copies (history)", Request.signed(stack, "GET", copies), 200),
            (
                "PUT settings of an unknown connection (404)",
                Request.signed(stack, "PUT", f"/connections/{uuid.UUID(int=7)}/settings", settings),
                404,
            ),
        ]
        replays: list[tuple[str, Request, int]] = []
        for label, request, status in cases:
            with dynamodb_writes() as writes:
                response = request.send(stack)
            assert response.status_code == status, (label, response.status_code, response.text)
            lines.append(_line(label, writes))
            if request.method != "GET" and status < 400:
                replays.append((label, request, status))
        for label, request, status in replays:
            with dynamodb_writes() as writes:
                response = request.send(stack)
            assert response.status_code == status, (label, response.status_code, response.text)
            lines.append(_line(f"{label}, sent again", writes, replayed=True))
    return lines


def _line(label: str, writes: list[tuple[str, str]], *, replayed: bool = False) -> str:
    replay = [op for op, kind in writes if kind == "replay"]
    key = [op for op, kind in writes if kind == "key"]
    route = [op for op, kind in writes if kind == "route"]
    verdict = "ok" if len(replay) <= TARGET else "OVER TARGET"
    detail = f"({', '.join(replay)})" if replay else ""
    extra = f"   Idempotency-Key record: {len(key)} ({', '.join(key)})" if key else ""
    route_note = "nothing else written" if replayed and not route and not key else f"route's own writes: {len(route)}"
    return f"  {label:<52} extra: {len(replay)} {detail:<24} {verdict:<11}  {route_note}{extra}"
