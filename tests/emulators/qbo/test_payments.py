"""Payments applied to invoices: balances, LinkedTxn, unapplied amounts, delete and void."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.emulators.qbo.helpers import Api


def invoice(api: Api, amount: str, customer: str = "1") -> dict[str, Any]:
    body = {
        "CustomerRef": {"value": customer},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": amount,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "TaxCodeRef": {"value": "NON"}},
            }
        ],
    }
    response = api.post("invoice", body)
    assert response.status_code == 200, response.text
    return dict(response.json()["Invoice"])


def pay(api: Api, total: str, *applied: tuple[str, str], customer: str = "1", **params: str) -> httpx.Response:
    body = {
        "CustomerRef": {"value": customer},
        "TotalAmt": total,
        "PaymentRefNum": "CHK-1",
        "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": txn, "TxnType": "Invoice"}]} for txn, amount in applied],
    }
    return api.post("payment", body, **params)


def balance(api: Api, invoice_id: str) -> Decimal:
    return Decimal(str(api.get(f"invoice/{invoice_id}").json()["Invoice"]["Balance"]))


def test_partial_payment_and_linked_txn(us: Api) -> None:
    inv = invoice(us, "1000")
    response = pay(us, "400", (inv["Id"], "400"))
    assert response.status_code == 200, response.text
    payment = response.json()["Payment"]
    assert Decimal(str(payment["UnappliedAmt"])) == 0
    assert payment["DepositToAccountRef"]["name"] == "Undeposited Funds"
    stored = us.get(f"invoice/{inv['Id']}").json()["Invoice"]
    assert Decimal(str(stored["Balance"])) == 600
    assert Decimal(str(stored["TotalAmt"])) == 1000
    assert stored["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert stored["SyncToken"] == "1"


def test_one_payment_several_invoices_with_unapplied(us: Api) -> None:
    first, second = invoice(us, "1350"), invoice(us, "800")
    payment = pay(us, "2000", (first["Id"], "1350"), (second["Id"], "500")).json()["Payment"]
    assert Decimal(str(payment["UnappliedAmt"])) == 150
    assert balance(us, first["Id"]) == 0
    assert balance(us, second["Id"]) == 300


def test_overapplying_is_rejected(us: Api) -> None:
    inv = invoice(us, "100")
    assert pay(us, "150", (inv["Id"], "150")).json()["Fault"]["Error"][0]["code"] == "6000"
    assert pay(us, "50", (inv["Id"], "80")).json()["Fault"]["Error"][0]["code"] == "6000"
    other_customer = pay(us, "50", (inv["Id"], "50"), customer="2")
    assert other_customer.status_code == 400


def test_delete_and_void_reopen_invoices(us: Api) -> None:
    inv = invoice(us, "500")
    payment = pay(us, "500", (inv["Id"], "500")).json()["Payment"]
    assert balance(us, inv["Id"]) == 0
    blocked = us.post("invoice", {"Id": inv["Id"], "SyncToken": "1"}, operation="delete")
    assert blocked.status_code == 400
    voided = us.post(
        "payment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True}, operation="update", include="void"
    ).json()["Payment"]
    assert Decimal(str(voided["TotalAmt"])) == 0
    assert voided["PrivateNote"].startswith("Voided")
    assert balance(us, inv["Id"]) == 500
    second = pay(us, "200", (inv["Id"], "200")).json()["Payment"]
    assert balance(us, inv["Id"]) == 300
    deleted = us.post("payment", {"Id": second["Id"], "SyncToken": "0"}, operation="delete").json()["Payment"]
    assert deleted["status"] == "Deleted"
    assert balance(us, inv["Id"]) == 500
    assert us.get(f"invoice/{inv['Id']}").json()["Invoice"]["LinkedTxn"] == []


def test_payment_update_moves_application(us: Api) -> None:
    first, second = invoice(us, "100"), invoice(us, "100")
    payment = pay(us, "100", (first["Id"], "100")).json()["Payment"]
    body = {
        "Id": payment["Id"],
        "SyncToken": "0",
        "sparse": True,
        "Line": [{"Amount": 60, "LinkedTxn": [{"TxnId": second["Id"], "TxnType": "Invoice"}]}],
    }
    updated = us.post("payment", body).json()["Payment"]
    assert Decimal(str(updated["UnappliedAmt"])) == 40
    assert balance(us, first["Id"]) == 100
    assert balance(us, second["Id"]) == 40


def test_payment_query(us: Api) -> None:
    inv = invoice(us, "100")
    payment = pay(us, "100", (inv["Id"], "100")).json()["Payment"]
    rows = us.rows("select * from Payment where CustomerRef = '1'")
    assert payment["Id"] in [row["Id"] for row in rows]
    assert {row["CustomerRef"]["value"] for row in rows} == {"1"}
