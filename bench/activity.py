"""What the activity log costs: the DynamoDB writes it adds per copy and per payment event, counted from
the real boto3 calls against the local stack (moto server): the items it writes (its entries) and the
write calls it adds (a call that writes nothing but activity items).

A finished copy's entry rides in the copy's own `complete` BatchWriteItem, a payment's in the mapping's
write (a TransactWriteItems of the two instead of a PutItem or DeleteItem), so neither adds a call; an
SQS redelivery that finds the work done writes nothing. A payment left alone is logged on its own, once
(a TransactWriteItems of the entry and its once-guard).

Target (issue 12): 1 activity write per copy and per payment event, in the same write as the existing
ones where possible."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

from bench.stack import AwsCall, aws_calls, bench_stack, configure, connect_demo, demo_settings
from local.qbo_payments import PaymentDesk

WRITE_CALLS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
TARGET = 1


@dataclass
class Writes:
    """DynamoDB write calls, each as (operation, the partition keys it writes), and the entries the
    connection's log gained meanwhile."""

    calls: list[tuple[str, list[str]]] = field(default_factory=list)
    entries_added: int = 0

    @property
    def extra_calls(self) -> int:
        """Calls that would not be made without the activity log: they write nothing else."""
        return sum(1 for _, keys in self.calls if keys and all(key.startswith("ACTIVITY") for key in keys))

    def describe(self) -> str:
        return ", ".join(f"{operation} ({len(keys)})" for operation, keys in self.calls)


def _keys(call: AwsCall) -> list[str]:
    """The partition keys one write call writes (an item's, or a key's), as strings."""
    params = call.params
    if call.operation == "BatchWriteItem":
        requests = [r for rs in params["RequestItems"].values() for r in rs]
        return [
            _pk((r.get("PutRequest") or {}).get("Item") or (r.get("DeleteRequest") or {}).get("Key")) for r in requests
        ]
    if call.operation == "TransactWriteItems":
        found = []
        for entry in params["TransactItems"]:
            (write,) = entry.values()
            found.append(_pk(write.get("Item") or write.get("Key")))
        return found
    return [_pk(params.get("Item") or params.get("Key"))]


def _pk(item: Any) -> str:
    value = (item or {}).get("pk", "")
    if isinstance(value, dict):  # a plain client's typed value
        value = next(iter(value.values()), "")
    return str(value)


def _entries(table: Any, connection_id: str) -> int:
    return int(table.query(KeyConditionExpression=Key("pk").eq(f"ACTIVITY#{connection_id}"), Select="COUNT")["Count"])


@contextmanager
def dynamodb_writes(table: Any, connection_id: str) -> Iterator[Writes]:
    writes = Writes()
    before = _entries(table, connection_id)
    with aws_calls() as calls:
        yield writes
    for call in calls:
        if call.service == "dynamodb" and call.operation in WRITE_CALLS:
            writes.calls.append((call.operation, _keys(call)))
    writes.entries_added = _entries(table, connection_id) - before


def _line(label: str, writes: Writes, target: int = TARGET) -> str:
    verdict = "ok" if writes.entries_added <= target else "OVER TARGET"
    return (
        f"  {label:<46} entries written: {writes.entries_added} (target {target}) {verdict:<11}"
        f" extra write calls: {writes.extra_calls}   [{writes.describe()}]"
    )


def run() -> list[str]:
    lines = [
        "Activity log: DynamoDB writes it adds, counted on the local stack "
        f"(target {TARGET} per copy and per payment event, inside the existing writes)"
    ]
    with bench_stack() as (productive, stack, app):
        wiring = importlib.import_module("qbosync.wiring")
        domain_copies = importlib.import_module("qbosync.domain.copies")
        events = importlib.import_module("qbosync.domain.events")
        demo = productive.seed_demo()
        connection_id = connect_demo(stack, app, demo, stack.emulator.US_REALM)
        table = boto3.resource("dynamodb", endpoint_url=stack.aws.endpoint_url).Table(os.environ["TABLE_NAME"])

        def measured() -> Any:
            return dynamodb_writes(table, connection_id)

        configure(app, connection_id, demo_settings(demo))

        def copy(mode: str) -> None:
            wiring.copy_service().copy(
                domain_copies.CopyRequest(
                    connection_id=connection_id,
                    invoice_id=demo.invoice_usd_id,
                    customer_id=None,
                    tax_code_id="2",
                    mode=mode,
                )
            )

        copy("create")  # the first copy finds the customer and caches what it can
        for label, mode in (("copy (create)", "create"), ("copy (update)", "update")):
            with measured() as writes:
                copy(mode)
            lines.append(_line(label, writes))

        desk = PaymentDesk(stack, app, productive, demo=demo, connection_id=connection_id)
        try:
            invoice_id, qbo_invoice_id = desk.copied_invoice("10", "150.00")
            sync = wiring.payment_sync_service()

            def event(payment_id: str, operation: str) -> Callable[[], Any]:
                happened = events.EntityEvent(
                    realm_id=stack.emulator.US_REALM,
                    entity="Payment",
                    entity_id=payment_id,
                    operation=operation,
                    occurred_at=datetime.now(UTC),
                    event_id=f"bench-{payment_id}-{operation}",
                )
                return lambda: sync.handle(happened)

            paid = desk.pay((qbo_invoice_id, "100.00"))
            cases: list[tuple[str, Callable[[], Any], int]] = [
                ("payment event: mirrored", event(paid, "create"), TARGET),
                ("payment event: the same, delivered again", event(paid, "create"), 0),
            ]
            for label, handle, target in cases:
                with measured() as writes:
                    handle()
                lines.append(_line(label, writes, target))
            desk.edit(paid, (qbo_invoice_id, "60.00"))
            with measured() as writes:
                event(paid, "update")()
            lines.append(_line("payment event: changed", writes))
            desk.delete(paid)
            with measured() as writes:
                event(paid, "delete")()
            lines.append(_line("payment event: removed", writes))
            early = desk.pay((qbo_invoice_id, "10.00"), txn_date="2020-01-15")
            with measured() as writes:
                event(early, "create")()
            lines.append(_line("payment event: left alone (logged on its own)", writes))
            with measured() as writes:
                event(early, "update")()
            lines.append(_line("payment event: left alone, seen again", writes, 0))
            assert desk.mirrored(invoice_id) == [], json.dumps(str(desk.mirrored(invoice_id)))
        finally:
            desk.close()
    return lines
