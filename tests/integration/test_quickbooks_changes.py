"""Credits in payments and changes made in QuickBooks, through the real path (the QuickBooks emulator over
HTTP → signed webhooks → payment_webhook → SQS → payment_sync → the Productive emulator): an accountant's
credit memo applied (flagged, not mirrored), an overpayment, an edit, a void and a delete of a copy
(flagged; void and delete free the Productive invoice), our own update not flagged, the attention list,
mode=update refused on a voided copy; and a void flagged with payment sync off."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.test_payment_sync import Payments, quiet_pollers  # noqa: F401 (fixture)


@pytest.fixture
def w(app: Any, stack: Any, productive: Any, quiet_pollers: None) -> Iterator[Payments]:  # noqa: F811
    with Payments(app, stack, productive) as world:
        yield world
        world.world.configure(sync_payments=False, default_item_id="1")  # later tests' payments skip this connection


@pytest.fixture
def sync_off(app: Any, stack: Any, productive: Any, quiet_pollers: None) -> Iterator[Payments]:  # noqa: F811
    """A connected US subsidiary with payment sync switched off."""
    with Payments(app, stack, productive) as world:
        world.world.configure(sync_payments=False, default_item_id="1")
        yield world


def flags(w: Payments, invoice_id: str) -> list[dict[str, Any]]:
    [last, *_] = w.world.history(invoice_id)
    return list(last["flags"])


def attention(w: Payments) -> list[dict[str, Any]]:
    response = w.world.app.get(f"/connections/{w.cid}/attention")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_a_credit_memo_made_in_quickbooks_is_flagged_not_mirrored(w: Payments) -> None:
    invoice_id, qbo_id = w.copied_invoice()
    memo = w.credit_memo(qbo_id, "200.00")
    w.pay((qbo_id, "500.00"), credits=((memo, "200.00"),))  # 300 cash, 200 credit
    w.settle()
    assert w.mirrored(invoice_id) == [(Decimal("300.00"), w.today())]
    assert w.remaining_credit(memo) == 0
    [credited] = [flag for flag in flags(w, invoice_id) if flag["kind"] == "credited_in_quickbooks"]
    assert credited["details"]["amount"] == "200.00"
    assert credited["details"]["credit_memo_ids"] == [memo]
    assert invoice_id in [item["invoice_id"] for item in attention(w)]


def test_an_overpayment_is_mirrored_only_up_to_what_it_applies(w: Payments) -> None:
    invoice_id, qbo_id = w.copied_invoice()
    w.pay((qbo_id, "100.00"), total="150.00")  # 50 left unapplied on the customer's account
    w.settle()
    assert w.mirrored(invoice_id) == [(Decimal("100.00"), w.today())]
    assert flags(w, invoice_id) == []


def test_edit_void_delete_in_quickbooks_and_our_own_update(w: Payments) -> None:
    ours, _ = w.copied_invoice()
    edited, edited_qbo = w.copied_invoice()
    voided, voided_qbo = w.copied_invoice()
    deleted, deleted_qbo = w.copied_invoice()
    assert w.world.copy(ours, mode="update").status_code == 201  # our own update: a new SyncToken, no flag
    before = w.world.qbo("Invoice", edited_qbo)["TotalAmt"]
    w.reprice_invoice(edited_qbo, "160.00")
    after = w.world.qbo("Invoice", edited_qbo)["TotalAmt"]
    assert after != before
    w.settle()
    w.void_invoice(voided_qbo)
    w.settle()
    w.delete_invoice(deleted_qbo)
    w.settle()
    assert flags(w, ours) == []
    [changed] = flags(w, edited)
    assert changed["kind"] == "changed_in_quickbooks"
    assert Decimal(changed["details"]["quickbooks_total"]) == after
    assert Decimal(changed["details"]["productive_total"]) == before
    assert [flag["kind"] for flag in flags(w, voided)] == ["voided_in_quickbooks"]
    assert [flag["kind"] for flag in flags(w, deleted)] == ["deleted_in_quickbooks"]
    for freed in (voided, deleted):
        invoice = w.productive.invoice(freed)
        assert not invoice["exported"]
        assert not invoice["export_id"]
    assert w.productive.invoice(edited)["exported"]
    # The attention list: newest flag first.
    listed = [item["invoice_id"] for item in attention(w)]
    assert listed.index(deleted) < listed.index(voided) < listed.index(edited)
    assert ours not in listed
    # Updating a voided copy is refused; a new copy is what the user wants.
    refused = w.world.copy(voided, mode="update")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "copy_voided_in_quickbooks"
    assert "create" in refused.json()["error"]["message"]
    assert w.world.copy(voided, mode="create").status_code == 201


def test_a_change_to_the_lines_alone_is_flagged_and_our_update_resolves_it(w: Payments) -> None:
    invoice_id, qbo_id = w.copied_invoice()
    total = w.world.qbo("Invoice", qbo_id)["TotalAmt"]
    w.redescribe_invoice(qbo_id, "Rewritten by the accountant")
    w.settle()
    assert w.world.qbo("Invoice", qbo_id)["TotalAmt"] == total
    [changed] = flags(w, invoice_id)
    assert changed["kind"] == "changed_in_quickbooks"
    assert changed["details"]["changed"] == ["lines"]
    assert invoice_id in [item["invoice_id"] for item in attention(w)]
    # Our update puts Productive's invoice back: the edit is overwritten (and said so), the flag resolved.
    updated = w.world.copy(invoice_id, mode="update")
    assert updated.status_code == 201, updated.text
    assert [warning["code"] for warning in updated.json()["warnings"]] == ["quickbooks_edits_overwritten"]
    assert flags(w, invoice_id) == []
    assert invoice_id not in [item["invoice_id"] for item in attention(w)]
    w.settle()  # the update's own webhook flags nothing
    assert flags(w, invoice_id) == []


def test_a_payment_moves_the_sync_token_but_an_update_after_it_warns_of_no_edit(w: Payments) -> None:
    invoice_id, qbo_id = w.copied_invoice()
    w.pay((qbo_id, "10.00"))
    w.settle()
    updated = w.world.copy(invoice_id, mode="update")
    assert updated.status_code == 201, updated.text
    assert updated.json()["warnings"] == []
    assert flags(w, invoice_id) == []


def test_with_payment_sync_off_a_void_in_quickbooks_is_flagged_and_payments_are_not_mirrored(
    sync_off: Payments,
) -> None:
    w = sync_off
    paid, paid_qbo = w.copied_invoice()
    voided, voided_qbo = w.copied_invoice()
    w.pay((paid_qbo, "25.00"))
    w.settle()
    assert w.mirrored(paid) == []  # payment sync is off
    assert w.balance(paid_qbo) < w.world.qbo("Invoice", paid_qbo)["TotalAmt"]  # paid in QuickBooks all the same
    w.void_invoice(voided_qbo)
    w.settle()
    assert [flag["kind"] for flag in flags(w, voided)] == ["voided_in_quickbooks"]
    invoice = w.productive.invoice(voided)
    assert not invoice["exported"]
    assert not invoice["export_id"]
    assert flags(w, paid) == []
    assert w.productive.invoice(paid)["exported"]
    assert [item["invoice_id"] for item in attention(w)] == [voided]
