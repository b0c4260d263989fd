"""Change Data Capture and batch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from local.qbo_emulator import QboEmulator
from local.qbo_emulator.clock import qbo_time
from tests.emulators.qbo.helpers import Api

LINE = [
    {
        "DetailType": "SalesItemLineDetail",
        "Amount": 100,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "TaxCodeRef": {"value": "NON"}},
    }
]


def cdc(api: Api, entities: str, since: str) -> Any:
    return api.get("cdc", entities=entities, changedSince=since)


def test_cdc_reports_changes_and_deletions(emu: QboEmulator, us: Api) -> None:
    emu.clock.freeze()
    since = qbo_time(emu.clock.now())
    emu.clock.advance(5)
    kept = us.post("invoice", {"CustomerRef": {"value": "1"}, "Line": LINE}).json()["Invoice"]
    gone = us.post("invoice", {"CustomerRef": {"value": "2"}, "Line": LINE}).json()["Invoice"]
    us.post("invoice", {"Id": gone["Id"], "SyncToken": "0"}, operation="delete")
    payment = us.post(
        "payment",
        {
            "CustomerRef": {"value": "1"},
            "TotalAmt": 100,
            "Line": [{"Amount": 100, "LinkedTxn": [{"TxnId": kept["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert payment.status_code == 200
    response = cdc(us, "Invoice,Payment,Customer", since)
    assert response.status_code == 200, response.text
    groups = response.json()["CDCResponse"][0]["QueryResponse"]
    assert len(groups) == 3
    invoices = {row["Id"]: row for row in groups[0]["Invoice"]}
    assert invoices[kept["Id"]]["Balance"] == 0  # updated by the payment
    assert invoices[gone["Id"]]["status"] == "Deleted"
    assert [row["Id"] for row in groups[1]["Payment"]] == [payment.json()["Payment"]["Id"]]
    assert groups[2] == {}  # no customer changed
    later = qbo_time(emu.clock.now() + timedelta(seconds=10))
    assert cdc(us, "Invoice", later).json()["CDCResponse"][0]["QueryResponse"] == [{}]


def test_cdc_limits(emu: QboEmulator, us: Api) -> None:
    old = qbo_time(emu.clock.now() - timedelta(days=31))
    assert cdc(us, "Invoice", old).status_code == 400
    assert cdc(us, "Widget", qbo_time(emu.clock.now())).status_code == 400
    assert us.get("cdc", entities="Invoice").status_code == 400


def test_batch_mixed_items_and_per_item_faults(us: Api) -> None:
    body = {
        "BatchItemRequest": [
            {"bId": "1", "operation": "create", "Customer": {"DisplayName": "Batch Buyer"}},
            {"bId": "2", "operation": "create", "Customer": {"DisplayName": "Northwind Traders"}},
            {"bId": "3", "operation": "create", "Invoice": {"CustomerRef": {"value": "1"}, "Line": LINE}},
            {"bId": "4", "Query": "select * from Customer where DisplayName = 'Smith & Sons'"},
        ]
    }
    response = us.post("batch", body)
    assert response.status_code == 200, response.text
    items = {item["bId"]: item for item in response.json()["BatchItemResponse"]}
    assert items["1"]["Customer"]["DisplayName"] == "Batch Buyer"
    assert items["2"]["Fault"]["Error"][0]["code"] == "6240"
    assert items["3"]["Invoice"]["TotalAmt"] == 100
    assert items["4"]["QueryResponse"]["Customer"][0]["DisplayName"] == "Smith & Sons"


def test_batch_update_delete_and_limits(us: Api) -> None:
    inv = us.post("invoice", {"CustomerRef": {"value": "1"}, "Line": LINE}).json()["Invoice"]
    body = {
        "BatchItemRequest": [
            {
                "bId": "u",
                "operation": "update",
                "Invoice": {"Id": inv["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "batched"},
            },
        ]
    }
    updated = us.post("batch", body).json()["BatchItemResponse"][0]["Invoice"]
    assert updated["PrivateNote"] == "batched"
    delete = {"BatchItemRequest": [{"bId": "d", "operation": "delete", "Invoice": {"Id": inv["Id"], "SyncToken": "1"}}]}
    assert us.post("batch", delete).json()["BatchItemResponse"][0]["Invoice"]["status"] == "Deleted"
    too_many = {"BatchItemRequest": [{"bId": str(i), "Query": "select * from Item"} for i in range(31)]}
    assert us.post("batch", too_many).status_code == 400


def test_batch_items_without_bid_still_run(us: Api) -> None:
    body = {
        "BatchItemRequest": [
            {"operation": "create", "Customer": {"DisplayName": "No bId Ltd"}},
            {"bId": "q", "Query": "select * from customer where DisplayName = 'Smith & Sons'"},
            {"Query": "select count(*) from Item"},
        ]
    }
    response = us.post("batch", body)
    assert response.status_code == 200, response.text
    created, queried, counted = response.json()["BatchItemResponse"]
    assert "bId" not in created
    assert created["Customer"]["DisplayName"] == "No bId Ltd"
    assert queried["bId"] == "q"
    assert queried["QueryResponse"]["Customer"][0]["DisplayName"] == "Smith & Sons"
    assert counted == {"QueryResponse": {"totalCount": len(us.rows("select * from Item", "Item"))}}
    assert len(us.rows("select * from Customer where DisplayName = 'No bId Ltd'")) == 1


def test_batch_refuses_a_bid_used_twice(us: Api) -> None:
    body = {
        "BatchItemRequest": [{"bId": "1", "Query": "select * from Item"}, {"bId": "1", "Query": "select * from Term"}]
    }
    response = us.post("batch", body)
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["element"] == "bId"


def test_batch_requestid_replays(us: Api) -> None:
    body = {"BatchItemRequest": [{"bId": "1", "operation": "create", "Customer": {"DisplayName": "Once Only"}}]}
    first = us.post("batch", body, requestid="batch-1").json()
    second = us.post("batch", body, requestid="batch-1").json()
    assert first["BatchItemResponse"] == second["BatchItemResponse"]
    assert len(us.rows("select * from Customer where DisplayName = 'Once Only'")) == 1


def test_batch_requestid_is_at_most_36_characters(us: Api) -> None:
    body = {"BatchItemRequest": [{"bId": "1", "operation": "create", "Customer": {"DisplayName": "Long Id Co"}}]}
    refused = us.post("batch", body, requestid="r" * 37)
    assert refused.status_code == 400
    assert refused.json()["Fault"]["Error"][0]["element"] == "requestid"
    assert us.rows("select * from Customer where DisplayName = 'Long Id Co'") == []
    accepted = us.post("batch", body, requestid="r" * 36)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["BatchItemResponse"][0]["Customer"]["DisplayName"] == "Long Id Co"
    # a single write still takes the 50 characters
    assert us.post("customer", {"DisplayName": "Long Id Two"}, requestid="s" * 50).status_code == 200


def test_batch_bid_is_at_most_10_characters_with_a_requestid(us: Api) -> None:
    body = {"BatchItemRequest": [{"bId": "b" * 11, "Query": "select * from Term"}]}
    assert us.post("batch", body).status_code == 200
    refused = us.post("batch", body, requestid="bid-check")
    assert refused.status_code == 400
    assert refused.json()["Fault"]["Error"][0]["element"] == "bId"
