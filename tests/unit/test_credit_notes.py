"""The pure credit note rules: how much a credit memo applies, and the Payment that applies it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from qbosync.domain.copies import CopyRecord, credit_application_marker
from qbosync.domain.credit_notes import application_amount, application_payment, partly_applied


@pytest.mark.parametrize(
    ("credit", "balance", "before", "expected"),
    [
        ("100", "524.97", "0", "100.00"),  # all of it
        ("1000", "524.97", "0", "524.97"),  # never more than is open
        ("100", "0", "0", "0"),  # nothing open: nothing applied
        ("150", "424.97", "100", "150.00"),  # our earlier 100 is part of what is open to us
        ("40", "374.97", "150", "40.00"),
        ("100", "-5", "0", "0"),  # a negative balance is nothing open
        ("100.004", "200", "0", "100.00"),
    ],
)
def test_application_amount(credit: str, balance: str, before: str, expected: str) -> None:
    assert application_amount(Decimal(credit), Decimal(balance), Decimal(before)) == Decimal(expected)


def test_the_application_payment_has_total_zero_and_links_both_documents() -> None:
    body = application_payment(
        customer_id="7",
        quickbooks_invoice_id="41",
        credit_memo_id="42",
        amount=Decimal("100.00"),
        txn_date=date(2025, 5, 20),
        marker=credit_application_marker("c0ffee00-aaaa", "1030", 1),
    )
    assert body["TotalAmt"] == 0
    assert body["CustomerRef"] == {"value": "7"}
    assert body["TxnDate"] == "2025-05-20"
    assert [(line["Amount"], line["LinkedTxn"]) for line in body["Line"]] == [
        (Decimal("100.00"), [{"TxnId": "41", "TxnType": "Invoice"}]),
        (Decimal("100.00"), [{"TxnId": "42", "TxnType": "CreditMemo"}]),
    ]
    assert "qbosync-credit:c0ffee00:1030:1" in body["PrivateNote"]


def test_partly_applied_names_the_amounts() -> None:
    warning = partly_applied(Decimal("1000"), Decimal("524.97"), "USD")
    assert warning.code == "credit_partly_applied"
    assert warning.details == {"credit_amount": "1000.00", "applied_amount": "524.97", "remaining_credit": "475.03"}


def test_a_copy_stored_before_credit_memos_is_an_invoice() -> None:
    when = datetime(2025, 1, 1, tzinfo=UTC)
    record = CopyRecord(
        connection_id="c",
        invoice_id="1",
        sequence=1,
        copy_id="1-1",
        quickbooks_id="9",
        doc_number=None,
        total_amount=Decimal(0),
        currency="USD",
        quickbooks_url="",
        mode="create",
        created_at=when,
        updated_at=when,
        sync_token="0",
        customer_id="1",
        realm_id="r",
    )
    assert (record.quickbooks_type, record.quickbooks_invoice_id) == ("Invoice", "9")
