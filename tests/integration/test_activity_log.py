"""The activity log through the real path (docs/architecture.md "Activity log"): a connection's story on
a QuickBooks company of its own (connect, settings, copies created, updated and refused, a payment
mirrored, changed and removed through the emulator's webhooks and payment_sync, a payment left alone,
a reconcile sweep, disconnect), then read back with GET /connections/{id}/activity: newest first, per
invoice, per kind, page by page; bad query values refused; and no token, secret or e-mail address in
any activity item as the table holds it."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3
import pytest

from local.app_client import AppClient
from local.qbo_payments import PaymentDriver
from qbosync.adapters.dynamodb_common import every_item
from tests.integration.conftest import wiring
from tests.integration.copy_world import World

EMAIL = re.compile(r"[^\s@\"'<>]+@[^\s@\"'<>]+\.[A-Za-z]{2,}")


@dataclass
class Story:
    cid: str
    invoice_a: str  # copied, updated, paid, its payment changed and removed, a payment left alone
    invoice_b: str  # copied
    invoice_c: str  # refused by QuickBooks (its number is B's)
    secrets: list[str]  # every token and secret of the connection and the stack


@pytest.fixture(scope="module")
def story(stack: Any, productive: Any) -> Iterator[Story]:
    """The story, told once for the module on a US company of its own, with the stack's SQS pollers
    stopped (the story drains the queues itself) and the emulator's webhooks on."""
    gateway = stack.gateway
    for poller in gateway._pollers:
        poller.stop()
    gateway._pollers.clear()
    stack.emulator.set_webhook(stack.client_id, f"{stack.api_url}/webhooks/intuit", format="cloudevents")
    realm = str(stack.emulator.add_company("US"))
    try:
        with AppClient(stack.api_url, stack.signing_secret) as app:
            yield _tell(app, stack, productive, realm)
    finally:
        stack.emulator.set_webhook(stack.client_id, None)
        gateway.start_sqs_pollers(sqs_client=stack.aws.client("sqs"))


def _tell(app: AppClient, stack: Any, productive: Any, realm: str) -> Story:
    world = World(app, stack, productive, realm)  # connected; settings saved
    cid = world.cid
    secrets = _secrets_of(cid, stack, world)
    world.configure(sync_payments=True, invoice_numbering="productive", default_item_id="1")
    number = f"AL-{uuid.uuid4().hex[:8]}"
    invoice_a, invoice_b, invoice_c = (_invoice(world, n) for n in (f"AL-{uuid.uuid4().hex[:8]}", number, number))
    created = world.copy(invoice_a)
    assert created.status_code == 201, created.text
    assert world.copy(invoice_a, mode="update").status_code == 201
    assert world.copy(invoice_b).status_code == 201
    refused = world.copy(invoice_c)  # the same number as B: QuickBooks refuses it (6140)
    assert refused.status_code == 409, refused.text

    with PaymentDriver(stack, productive, cid, realm) as desk:
        qbo_a = str(created.json()["quickbooks_id"])
        paid = desk.pay((qbo_a, "100.00"))
        desk.settle()
        assert desk.mirrored(invoice_a) == [(Decimal("100.00"), desk.today())]
        desk.edit(paid, (qbo_a, "60.00"))
        desk.settle()
        desk.delete(paid)
        desk.settle()
        assert desk.mirrored(invoice_a) == []
        desk.pay((qbo_a, "10.00"), txn_date="2020-01-15")  # dated before payment sync was switched on
        desk.settle()
        secrets += _secrets_of(cid, stack, world)
        stack.run_schedule("ReconcileFunction")  # finds all of the above again: nothing new in the log
        desk.settle()
    assert app.delete(f"/connections/{cid}").status_code == 204
    return Story(cid, invoice_a, invoice_b, invoice_c, secrets)


def _invoice(world: World, number: str) -> str:
    return str(
        world.productive.create_invoice(
            world.demo.organization_id,
            world.demo.company_acme_id,
            currency="USD",
            subsidiary_id=world.demo.subsidiary_us_id,
            number=number,
            line_items=[
                {
                    "description": "Design sprint",
                    "quantity": "2",
                    "unit_price": "150.00",
                    "service_type_id": world.demo.service_type_ids["Design"],
                    "tax_rate_id": world.demo.tax_rate_us_exempt_id,
                }
            ],
        )
    )


def _secrets_of(cid: str, stack: Any, world: World) -> list[str]:
    """The connection's QuickBooks tokens (as they are now), its Productive API token, the app's
    signing secret and the Intuit app's credentials."""
    secret = wiring().vault().read(cid)
    assert secret is not None
    assert secret.tokens is not None
    intuit = wiring().app_secrets().intuit()
    return [
        secret.tokens.access_token,
        secret.tokens.refresh_token,
        secret.productive_api_token,
        world.demo.api_token,
        stack.signing_secret,
        intuit.client_secret,
        intuit.webhook_verifier_token,
    ]


def _log(app: AppClient, cid: str, **query: Any) -> dict[str, Any]:
    response = app.get(f"/connections/{cid}/activity", params=query)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _kinds(entries: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(entry["kind"], entry["invoice_id"]) for entry in entries]


def test_the_story_is_in_the_log_newest_first(app: AppClient, story: Story) -> None:
    a, b, c = story.invoice_a, story.invoice_b, story.invoice_c
    log = _log(app, story.cid, limit=200)
    assert log["next_cursor"] is None
    entries = log["items"]
    assert _kinds(entries) == [
        ("disconnected", None),
        ("reconcile_run", None),
        ("payment_event_skipped", a),
        ("payment_removed", a),
        ("payment_updated", a),
        ("payment_mirrored", a),
        ("copy_failed", c),
        ("copy_created", b),
        ("copy_updated", a),
        ("copy_created", a),
        ("settings_changed", None),
        ("settings_changed", None),
        ("connected", None),
    ]
    moments = [entry["at"] for entry in entries]
    assert moments == sorted(moments, reverse=True)
    assert len({entry["id"] for entry in entries}) == len(entries)
    by_kind = {entry["kind"]: entry for entry in reversed(entries)}  # the newest of each kind
    assert by_kind["connected"]["details"]["company_name"]
    assert {"invoice_numbering", "sync_payments", "sync_payments_since"} <= set(
        by_kind["settings_changed"]["details"]["fields"]
    )
    failed = by_kind["copy_failed"]["details"]
    assert (failed["code"], failed["error_details"]["quickbooks_code"]) == ("quickbooks_6140", "6140")
    assert by_kind["payment_mirrored"]["details"]["amount"] == "100.00"
    updated = by_kind["payment_updated"]["details"]
    assert (updated["amount"], updated["previous"]["amount"]) == ("60.00", "100.00")
    assert "deleted in QuickBooks" in by_kind["payment_removed"]["summary"]
    skipped = by_kind["payment_event_skipped"]["details"]
    assert (skipped["reason"], skipped["paid_on"]) == ("before_sync_start", "2020-01-15")
    swept = by_kind["reconcile_run"]["details"]
    assert swept["outcome"] == "ok"
    assert swept["events_found"] >= 4  # A and B, the removed payment and the one left alone
    assert by_kind["disconnected"]["details"]["access_revoked_at_intuit"] is True


def test_one_invoice_and_one_kind(app: AppClient, story: Story) -> None:
    a, c = story.invoice_a, story.invoice_c
    assert [kind for kind, _ in _kinds(_log(app, story.cid, invoice_id=a)["items"])] == [
        "payment_event_skipped",
        "payment_removed",
        "payment_updated",
        "payment_mirrored",
        "copy_updated",
        "copy_created",
    ]
    assert _kinds(_log(app, story.cid, invoice_id=c)["items"]) == [("copy_failed", c)]
    assert _log(app, story.cid, invoice_id="999999999")["items"] == []
    settings = _log(app, story.cid, kind="settings_changed")["items"]
    assert [entry["kind"] for entry in settings] == ["settings_changed", "settings_changed"]
    payments = _log(app, story.cid, invoice_id=a, kind="payment_mirrored")["items"]
    assert _kinds(payments) == [("payment_mirrored", a)]


def test_pages_give_each_entry_once(app: AppClient, story: Story) -> None:
    whole = [entry["id"] for entry in _log(app, story.cid, limit=200)["items"]]
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = _log(app, story.cid, limit=2, **({"cursor": cursor} if cursor else {}))
        pages.append([entry["id"] for entry in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(pages) == 7
    assert [entry for page in pages for entry in page] == whole
    # One invoice's entries, a page at a time, too.
    first = _log(app, story.cid, invoice_id=story.invoice_a, limit=4)
    rest = _log(app, story.cid, invoice_id=story.invoice_a, limit=4, cursor=first["next_cursor"])
    assert len(first["items"]) == 4
    assert len(rest["items"]) == 2
    assert rest["next_cursor"] is None


def test_bad_query_values_are_refused_in_our_error_shape(app: AppClient, story: Story) -> None:
    cursor = _log(app, story.cid, limit=1)["next_cursor"]
    other = str(uuid.UUID(int=uuid.uuid4().int))
    for query, status, code in [
        ({"kind": "coffee"}, 422, "validation_error"),
        ({"limit": "0"}, 422, "validation_error"),
        ({"limit": "201"}, 422, "validation_error"),
        ({"limit": "ten"}, 422, "validation_error"),
        ({"invoice_id": "12a"}, 422, "validation_error"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, 422, "invalid_cursor"),
        ({"cursor": cursor, "invoice_id": story.invoice_a}, 422, "invalid_cursor"),
        ({"page": "2"}, 422, "validation_error"),
    ]:
        response = app.get(f"/connections/{story.cid}/activity", params=query)
        assert response.status_code == status, (query, response.text)
        assert response.json()["error"]["code"] == code, (query, response.text)
    unknown = app.get(f"/connections/{other}/activity")
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["error"]["code"] == "connection_not_found"


def test_no_token_secret_or_email_address_in_any_activity_item(stack: Any, story: Story) -> None:
    table = boto3.resource("dynamodb", endpoint_url=stack.aws.endpoint_url).Table(os.environ["TABLE_NAME"])
    items = [
        item
        for item in every_item(table.scan, ConsistentRead=True)
        if str(item["pk"]).startswith(("ACTIVITY#", "ACTIVITY_ONCE#"))
    ]
    mine = [item for item in items if story.cid in str(item["pk"])]
    assert len([item for item in mine if item.get("type") == "activity"]) == 13
    assert [item for item in mine if item.get("type") == "activity_once"]  # the payment left alone, once
    text = json.dumps(items, default=str)
    for secret in story.secrets:
        assert secret
        assert secret not in text
    assert EMAIL.findall(text) == []
