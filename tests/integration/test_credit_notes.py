"""Credit notes → QuickBooks credit memos through the real path (signed HTTP → gateway → copy_invoice →
both emulators over sockets, state in moto), applied to their parent invoice's copy with a Payment of
total 0 (README "Copy to QuickBooks", "Credit notes")."""

from __future__ import annotations

import io
import os
import uuid
from decimal import Decimal
from typing import Any

import boto3
from pypdf import PdfReader

from local.qbo_payments import PaymentDriver
from qbosync.adapters.dynamodb_copies import DynamoCopyRepository
from tests.integration.conftest import connect
from tests.integration.copy_world import World
from tests.integration.test_no_leftovers import nothing_left


def _parent(world: World, price: str = "149.99", quantity: str = "3.5") -> str:
    """An invoice of Acme with one exempt line (Productive's and QuickBooks' totals agree), copied."""
    invoice_id = str(
        world.productive.create_invoice(
            world.demo.organization_id,
            world.demo.company_acme_id,
            currency="USD",
            subsidiary_id=world.demo.subsidiary_us_id,
            invoiced_on="2025-05-02",
            line_items=[
                {
                    "description": "Design sprint",
                    "quantity": quantity,
                    "unit_price": price,
                    "service_type_id": world.demo.service_type_ids["Design"],
                    "tax_rate_id": world.demo.tax_rate_us_exempt_id,
                }
            ],
        )
    )
    return invoice_id


def _credit_note(world: World, parent_id: str, price: str) -> str:
    return str(
        world.productive.create_credit_note(
            world.demo.organization_id,
            parent_id,
            invoiced_on="2025-05-20",
            line_items=[
                {
                    "description": "Goodwill credit",
                    "quantity": "1",
                    "unit_price": price,
                    "service_type_id": world.demo.service_type_ids["Design"],
                    "tax_rate_id": world.demo.tax_rate_us_exempt_id,
                }
            ],
        )
    )


def _copied(world: World, invoice_id: str, key: str | None = None, **body: Any) -> dict[str, Any]:
    # Identical signed requests in the same second are one request: updates carry a key of their own.
    response = world.copy(invoice_id, key, tax_code_id=None, **body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _repository(world: World) -> DynamoCopyRepository:
    table = boto3.resource("dynamodb", endpoint_url=world.stack.aws.endpoint_url).Table(os.environ["TABLE_NAME"])
    return DynamoCopyRepository(table)


def _unpaid(world: World, invoice_id: str) -> Decimal:
    return Decimal(world.productive.invoice(invoice_id)["amount_unpaid"])


def test_a_credit_note_becomes_a_credit_memo_applied_to_its_parent(us: World) -> None:
    parent_id = _parent(us)
    parent_copy = _copied(us, parent_id)
    assert parent_copy["quickbooks_type"] == "Invoice"
    assert parent_copy["quickbooks_id"] == parent_copy["quickbooks_invoice_id"]
    note_id = _credit_note(us, parent_id, "-100")

    copy = _copied(us, note_id)

    assert copy["quickbooks_type"] == "CreditMemo"
    assert copy["quickbooks_invoice_id"] is None
    assert copy["warnings"] == []
    assert copy["quickbooks_url"].endswith(f"/app/creditmemo?txnId={copy['quickbooks_id']}")
    [memo] = us.qbo_copies("CreditMemo", note_id)
    assert memo["Id"] == copy["quickbooks_id"]
    assert memo["TotalAmt"] == Decimal("100.00") == Decimal(copy["total_amount"])
    assert memo["RemainingCredit"] == 0
    assert "DueDate" not in memo
    invoice = us.qbo("Invoice", parent_copy["quickbooks_id"])
    assert memo["CustomerRef"]["value"] == invoice["CustomerRef"]["value"]
    # The parent's balance in QuickBooks is what Productive says is unpaid.
    assert invoice["Balance"] == _unpaid(us, parent_id) == Decimal("424.97")
    application = copy["credit_application"]
    assert application["quickbooks_invoice_id"] == parent_copy["quickbooks_id"]
    assert application["amount"] == "100.00"
    payment = us.qbo("Payment", application["quickbooks_payment_id"])
    assert payment["TotalAmt"] == 0
    assert sorted((line["LinkedTxn"][0]["TxnType"], line["Amount"]) for line in payment["Line"]) == [
        ("CreditMemo", Decimal("100.00")),
        ("Invoice", Decimal("100.00")),
    ]
    # Payment sync can tell this payment is ours.
    repository = _repository(us)
    assert repository.is_our_credit_application(us.realm, payment["Id"])
    assert not repository.is_our_credit_application(us.realm, parent_copy["quickbooks_id"])
    found = repository.copy_of_quickbooks_object(us.realm, "CreditMemo", memo["Id"])
    assert found is not None
    assert (found.invoice_id, found.quickbooks_type, found.quickbooks_invoice_id) == (note_id, "CreditMemo", None)
    # Write-back and PDF, as for invoices.
    note = us.productive.invoice(note_id)
    assert note["export_id"] == memo["Id"]
    assert note["number"] == memo["DocNumber"]
    [attachment] = us.productive.attachments(note_id)
    assert attachment["name"] == f"quickbooks-credit-memo-{memo['Id']}.pdf"
    assert "CREDIT MEMO" in PdfReader(io.BytesIO(attachment["content"])).pages[0].extract_text()
    # History says what each copy is.
    [entry] = us.history(note_id)
    assert (entry["quickbooks_type"], entry["quickbooks_id"], entry["quickbooks_invoice_id"]) == (
        "CreditMemo",
        memo["Id"],
        None,
    )
    assert us.history(parent_id)[0]["quickbooks_type"] == "Invoice"


def test_a_credit_note_copy_makes_three_quickbooks_calls_and_its_parent_updates_without_warnings(
    us: World,
) -> None:
    parent_id = _parent(us)
    parent_copy = _copied(us, parent_id)
    note_id = _credit_note(us, parent_id, "-100")
    us.stack.emulator.reset_request_log()

    copy = _copied(us, note_id)

    calls = [path.rsplit("/", 1)[-1].split("?")[0] for _, path, _ in us.stack.emulator.request_log if "/v3/" in path]
    # The create first; then the PDF and the application at once, in either order.
    assert calls[:1] == ["creditmemo"], calls
    assert sorted(calls[1:]) == ["payment", "pdf"], calls
    assert copy["credit_application"]["amount"] == "100.00"
    # The application moved the parent's SyncToken in QuickBooks; that is no edit of the parent.
    updated = _copied(us, parent_id, key=uuid.uuid4().hex, mode="update")
    assert updated["quickbooks_id"] == parent_copy["quickbooks_id"]
    assert updated["warnings"] == []
    assert us.qbo("Invoice", parent_copy["quickbooks_id"])["Balance"] == _unpaid(us, parent_id)


def test_with_apply_credit_notes_off_the_credit_stays_on_the_account(us: World) -> None:
    us.configure(apply_credit_notes=False, default_item_id="1")
    assert us.app.get(f"/connections/{us.cid}").json()["settings"]["apply_credit_notes"] is False
    parent_id = _parent(us)
    parent_copy = _copied(us, parent_id)
    note_id = _credit_note(us, parent_id, "-100")

    copy = _copied(us, note_id)

    assert copy["credit_application"] is None
    [memo] = us.qbo_copies("CreditMemo", note_id)
    assert memo["RemainingCredit"] == memo["TotalAmt"] == Decimal("100.00")
    assert us.qbo("Invoice", parent_copy["quickbooks_id"])["Balance"] == Decimal("524.97")


def test_an_updated_credit_note_moves_its_application_with_it(us: World) -> None:
    parent_id = _parent(us)
    parent_copy = _copied(us, parent_id)
    note_id = _credit_note(us, parent_id, "-100")
    first = _copied(us, note_id)
    [line] = us.productive.line_items(note_id)

    us.productive.update_record("line_items", line["id"], unit_price="-150")
    larger = _copied(us, note_id, mode="update", key=str(uuid.uuid4()))
    us.productive.update_record("line_items", line["id"], unit_price="-40")
    smaller = _copied(
        us, note_id, mode="update", key=str(uuid.uuid4())
    )  # below what was applied: the payment is lowered first

    for copy, amount in ((larger, Decimal("150.00")), (smaller, Decimal("40.00"))):
        assert copy["mode"] == "update"
        assert copy["warnings"] == []
        assert copy["quickbooks_id"] == first["quickbooks_id"]
        assert (
            copy["credit_application"]["quickbooks_payment_id"] == first["credit_application"]["quickbooks_payment_id"]
        )
        assert Decimal(copy["credit_application"]["amount"]) == amount
    [memo] = us.qbo_copies("CreditMemo", note_id)
    assert (memo["TotalAmt"], memo["RemainingCredit"]) == (Decimal("40.00"), 0)
    assert us.qbo("Invoice", parent_copy["quickbooks_id"])["Balance"] == _unpaid(us, parent_id) == Decimal("484.97")
    payment = us.qbo("Payment", first["credit_application"]["quickbooks_payment_id"])
    assert {line["Amount"] for line in payment["Line"]} == {Decimal("40.00")}


def test_a_credit_larger_than_the_open_balance_is_applied_up_to_it(us: World) -> None:
    parent_id = _parent(us)
    parent_copy = _copied(us, parent_id)
    note_id = _credit_note(us, parent_id, "-1000")

    copy = _copied(us, note_id)

    [warning] = copy["warnings"]
    assert warning["code"] == "credit_partly_applied"
    assert (warning["credit_amount"], warning["applied_amount"], warning["remaining_credit"]) == (
        "1000.00",
        "524.97",
        "475.03",
    )
    assert copy["credit_application"]["amount"] == "524.97"
    [memo] = us.qbo_copies("CreditMemo", note_id)
    assert memo["RemainingCredit"] == Decimal("475.03")
    assert us.qbo("Invoice", parent_copy["quickbooks_id"])["Balance"] == 0


def test_a_credit_note_whose_parent_was_not_copied_gets_the_usual_customer_and_no_application(us: World) -> None:
    parent_id = _parent(us)
    note_id = _credit_note(us, parent_id, "-100")

    copy = _copied(us, note_id)

    assert copy["credit_application"] is None
    assert copy["warnings"] == []
    [memo] = us.qbo_copies("CreditMemo", note_id)
    assert us.qbo("Customer", memo["CustomerRef"]["value"])["DisplayName"] == "Acme & Sons, LLC"
    assert memo["RemainingCredit"] == Decimal("100.00")


def test_a_credit_note_whose_parent_went_to_another_company_is_409_and_leaves_nothing(us: World) -> None:
    # The same organization's UK subsidiary is connected to the other QuickBooks company and copied the
    # parent there.
    uk = connect(
        us.app,
        us.stack,
        realm_id=us.stack.emulator.UK_REALM,
        org=us.demo.organization_id,
        sub=us.demo.subsidiary_uk_id,
        productive_token=us.demo.api_token,
    )
    settings = us.app.put(f"/connections/{uk.connection_id}/settings", {"default_item_id": "1"})
    assert settings.status_code == 200, settings.text
    parent_id = us.demo.invoice_gbp_id
    copied = us.app.post(f"/connections/{uk.connection_id}/invoices/{parent_id}/copies", {})
    assert copied.status_code == 201, copied.text
    note_id = str(
        us.productive.create_credit_note(
            us.demo.organization_id,
            parent_id,
            line_items=[
                {
                    "description": "Credit",
                    "quantity": "1",
                    "unit_price": "-50",
                    "tax_rate_id": us.demo.tax_rate_uk_zero_id,
                }
            ],
        )
    )
    memos_before = len(us.stack.emulator.store.require(us.realm).all("CreditMemo"))

    with nothing_left(us, f"INVOICE#{us.cid}#{note_id}"):
        response = us.copy(note_id)

    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "parent_copied_elsewhere"
    assert "another QuickBooks company" in error["message"]
    assert error["details"]["parent_invoice_id"] == parent_id
    assert len(us.stack.emulator.store.require(us.realm).all("CreditMemo")) == memos_before
    assert us.productive.invoice(note_id)["exported"] is False


def test_a_parent_paid_in_quickbooks_leaves_the_credit_unapplied_with_a_warning(us: World) -> None:
    parent_id = _parent(us)
    parent_copy = _copied(us, parent_id)
    with PaymentDriver(us.stack, us.productive, us.cid, us.realm) as payments:
        payments.pay((parent_copy["quickbooks_id"], "524.97"))
    note_id = _credit_note(us, parent_id, "-100")

    copy = _copied(us, note_id)

    assert copy["credit_application"] is None
    assert [(w["code"], w["reason"]) for w in copy["warnings"]] == [("credit_not_applied", "parent_not_open")]
    [memo] = us.qbo_copies("CreditMemo", note_id)
    assert memo["RemainingCredit"] == Decimal("100.00")
