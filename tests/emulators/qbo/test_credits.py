"""Credits in payments and changes to invoices and credit memos, as payment sync reads them: credit lines
(LinkedTxn TxnType "CreditMemo") with cash and an overpayment, RemainingCredit and balances through
edits and deletes, webhooks and CDC for Invoice update/void/delete and CreditMemo update/delete (the API cannot void a
credit memo), and python-quickbooks
creating and applying a credit memo unchanged."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from quickbooks.objects.base import Ref
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.payment import Payment, PaymentLine

from local.qbo_emulator import QboEmulator
from local.qbo_emulator.clock import qbo_time
from tests.emulators.qbo.helpers import Api
from tests.emulators.qbo.test_balances import credit_memo, customer, get, invoice, money, ok, pay
from tests.emulators.qbo.test_clients import _plain_http_for_oauthlib, connected, qb  # noqa: F401 (fixtures)
from tests.emulators.qbo.test_webhooks import Receiver, receiver  # noqa: F401 (fixture)


def test_credit_cash_and_overpayment_in_one_payment(us: Api) -> None:
    who = customer(us, "Mixed Credit Co")["Id"]
    first, second = invoice(us, who, "100"), invoice(us, who, "50")
    memo = credit_memo(us, who, "80")
    # 100 received; 80 credit used; 150 applied: 70 cash on the invoices, 30 left unapplied.
    payment = ok(
        pay(
            us,
            who,
            "100",
            ("Invoice", first["Id"], "100"),
            ("Invoice", second["Id"], "50"),
            ("CreditMemo", memo["Id"], "80"),
        ),
        "Payment",
    )
    assert money(payment["TotalAmt"]) == 100
    assert money(payment["UnappliedAmt"]) == 30
    assert [line["LinkedTxn"][0]["TxnType"] for line in payment["Line"]] == ["Invoice", "Invoice", "CreditMemo"]
    assert money(get(us, f"invoice/{first['Id']}", "Invoice")["Balance"]) == 0
    assert money(get(us, f"invoice/{second['Id']}", "Invoice")["Balance"]) == 0
    assert money(get(us, f"creditmemo/{memo['Id']}", "CreditMemo")["RemainingCredit"]) == 0


def test_editing_and_deleting_a_credit_application_gives_the_credit_back(us: Api) -> None:
    who = customer(us, "Edited Credit Co")["Id"]
    inv = invoice(us, who, "100")
    memo = credit_memo(us, who, "60")
    payment = ok(pay(us, who, "40", ("Invoice", inv["Id"], "100"), ("CreditMemo", memo["Id"], "60")), "Payment")
    edited = us.post(
        "payment",
        {
            "Id": payment["Id"],
            "SyncToken": payment["SyncToken"],
            "sparse": True,
            "TotalAmt": "70",
            "Line": [
                {"Amount": "100", "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]},
                {"Amount": "30", "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
            ],
        },
    )
    assert edited.status_code == 200, edited.text
    assert money(get(us, f"creditmemo/{memo['Id']}", "CreditMemo")["RemainingCredit"]) == 30
    assert money(get(us, f"invoice/{inv['Id']}", "Invoice")["Balance"]) == 0
    token = edited.json()["Payment"]["SyncToken"]
    assert us.post("payment", {"Id": payment["Id"], "SyncToken": token}, operation="delete").status_code == 200
    assert money(get(us, f"creditmemo/{memo['Id']}", "CreditMemo")["RemainingCredit"]) == 60
    stored = get(us, f"invoice/{inv['Id']}", "Invoice")
    assert money(stored["Balance"]) == 100
    assert stored["LinkedTxn"] == []


def _seen(delivered: Receiver) -> list[tuple[str, str, str]]:
    return [
        (entity["name"], entity["id"], entity["operation"])
        for body in delivered.bodies()
        for note in body["eventNotifications"]
        for entity in note["dataChangeEvent"]["entities"]
    ]


def test_webhooks_for_invoice_and_credit_memo_update_void_delete(
    emu: QboEmulator,
    us: Api,
    receiver: Receiver,  # noqa: F811
) -> None:
    emu.set_webhook(emu.DEFAULT_CLIENT_ID, receiver.url, entities=["Invoice", "CreditMemo"])
    who = customer(us, "Webhook Credit Co")["Id"]
    inv, other = invoice(us, who, "100"), invoice(us, who, "20")
    memo, gone = credit_memo(us, who, "30"), credit_memo(us, who, "5")
    ok(us.post("invoice", {"Id": inv["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "edited"}), "Invoice")
    ok(us.post("invoice", {"Id": inv["Id"], "SyncToken": "1"}, operation="void"), "Invoice")
    assert us.post("invoice", {"Id": other["Id"], "SyncToken": "0"}, operation="delete").status_code == 200
    ok(us.post("creditmemo", {"Id": memo["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"}), "CreditMemo")
    # The API has no void for credit memos (QuickBooks' screens do; the worker takes a Void event too).
    assert us.post("creditmemo", {"Id": memo["Id"], "SyncToken": "1"}, operation="void").status_code == 400
    assert us.post("creditmemo", {"Id": gone["Id"], "SyncToken": "0"}, operation="delete").status_code == 200
    assert emu.webhooks.wait_idle(10)
    seen = [event for event in _seen(receiver) if event[2] != "Create"]
    assert seen == [
        ("Invoice", inv["Id"], "Update"),
        ("Invoice", inv["Id"], "Void"),
        ("Invoice", other["Id"], "Delete"),
        ("CreditMemo", memo["Id"], "Update"),
        ("CreditMemo", gone["Id"], "Delete"),
    ]


def test_cdc_reports_credit_memos_and_voided_or_deleted_invoices(emu: QboEmulator, us: Api) -> None:
    emu.clock.freeze()
    since = qbo_time(emu.clock.now())
    emu.clock.advance(5)
    who = customer(us, "CDC Credit Co")["Id"]
    inv, gone = invoice(us, who, "100"), invoice(us, who, "10")
    memo = credit_memo(us, who, "40")
    ok(us.post("invoice", {"Id": inv["Id"], "SyncToken": "0"}, operation="void"), "Invoice")
    assert us.post("invoice", {"Id": gone["Id"], "SyncToken": "0"}, operation="delete").status_code == 200
    ok(us.post("creditmemo", {"Id": memo["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "y"}), "CreditMemo")
    response = us.get("cdc", entities="Invoice,CreditMemo", changedSince=since)
    assert response.status_code == 200, response.text
    invoices, memos = response.json()["CDCResponse"][0]["QueryResponse"]
    rows = {row["Id"]: row for row in invoices["Invoice"]}
    assert rows[gone["Id"]]["status"] == "Deleted"
    assert money(rows[inv["Id"]]["TotalAmt"]) == 0
    assert str(rows[inv["Id"]]["PrivateNote"]).startswith("Voided")
    [changed_memo] = memos["CreditMemo"]
    assert changed_memo["Id"] == memo["Id"]
    assert changed_memo["SyncToken"] == "1"


@pytest.mark.usefixtures("_plain_http_for_oauthlib")
def test_python_quickbooks_creates_and_applies_a_credit_memo(qb: Any, us: Api) -> None:  # noqa: F811
    who = customer(us, "Python Credit Co")["Id"]
    inv = invoice(us, who, "100")
    memo = CreditMemo()
    memo.CustomerRef = Ref()
    memo.CustomerRef.value = who
    line = SalesItemLine()
    line.Amount = Decimal("40.00")
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = Ref()
    line.SalesItemLineDetail.ItemRef.value = "2"
    memo.Line.append(line)
    saved = memo.save(qb=qb)  # python-quickbooks returns what QuickBooks answered; it sets only memo.Id
    assert memo.Id == saved.Id
    assert Decimal(str(saved.TotalAmt)) == 40
    assert Decimal(str(saved.RemainingCredit)) == 40

    payment = Payment()
    payment.CustomerRef = Ref()
    payment.CustomerRef.value = who
    payment.TotalAmt = Decimal("60.00")
    for document, amount in ((Invoice.get(inv["Id"], qb=qb), "100"), (memo, "40")):
        applied = PaymentLine()
        applied.Amount = Decimal(amount)
        applied.LinkedTxn.append(document.to_linked_txn())  # python-quickbooks' own way to link
        payment.Line.append(applied)
    payment.save(qb=qb)
    assert payment.Id
    assert Decimal(str(CreditMemo.get(memo.Id, qb=qb).RemainingCredit)) == 0
    assert money(get(us, f"invoice/{inv['Id']}", "Invoice")["Balance"]) == 0
