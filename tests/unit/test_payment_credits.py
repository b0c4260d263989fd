"""Credits in payments (README "Payment sync"): the allocation rule, cash only mirrored, QuickBooks-made
credit flagged, our own credit application skipped; and the flags for changes made in QuickBooks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from qbosync.domain.copies import CopyFlag, CopyWarning
from qbosync.domain.payments import applications, credit_from_quickbooks, desired_payments
from qbosync.domain.quickbooks_changes import (
    change_flag,
    changed_parts,
    details_digest,
    lines_digest,
    resolved_by_update,
)
from tests.unit.test_payment_sync import REALM, World

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def payment(total: str, *lines: tuple[str, str, str], payment_id: str = "9") -> dict[str, Any]:
    """lines: (TxnType, TxnId, Amount), in order."""
    return {
        "Id": payment_id,
        "TxnDate": "2026-11-02",
        "TotalAmt": total,
        "SyncToken": "0",
        "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": txn, "TxnType": kind}]} for kind, txn, amount in lines],
    }


def test_credit_goes_to_the_first_invoice_first() -> None:
    paid = payment("70", ("Invoice", "1", "100"), ("Invoice", "2", "50"), ("CreditMemo", "m", "80"))
    first, second = applications(paid)
    assert (first.quickbooks_invoice_id, first.cash, first.credits) == ("1", Decimal(20), (("m", Decimal(80)),))
    assert (second.quickbooks_invoice_id, second.cash, second.credits) == ("2", Decimal(50), ())


def test_credit_larger_than_the_first_invoice_spills_onto_the_next() -> None:
    paid = payment(
        "30", ("Invoice", "1", "40"), ("CreditMemo", "m", "50"), ("Invoice", "2", "60"), ("CreditMemo", "n", "20")
    )
    first, second = applications(paid)
    assert first.cash == 0
    assert first.credits == (("m", Decimal(40)),)
    assert second.cash == 30
    assert second.credits == (("m", Decimal(10)), ("n", Decimal(20)))


def test_overpayment_is_mirrored_nowhere() -> None:
    paid = payment("150", ("Invoice", "1", "100"))
    assert desired_payments(paid, invoice_for=lambda q: "P1")["P1"].amount == Decimal(100)
    assert desired_payments(payment("25"), invoice_for=lambda q: "P1") == {}  # wholly unapplied


def test_credit_and_unapplied_cash_in_one_payment() -> None:
    # 100 received, an 80 credit used, 150 applied: 70 cash on the invoice, 30 left unapplied.
    paid = payment("100", ("Invoice", "1", "150"), ("CreditMemo", "m", "80"))
    [only] = applications(paid)
    assert only.cash == Decimal(70)
    assert credit_from_quickbooks(paid, "1", is_ours=lambda memo: False) == (Decimal("80.00"), ("m",))
    assert credit_from_quickbooks(paid, "1", is_ours=lambda memo: True) == (Decimal("0.00"), ())


amounts = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)


@given(
    invoices=st.lists(amounts, min_size=1, max_size=5),
    credits=st.lists(amounts, max_size=3),
    unapplied=amounts,
)
def test_cash_sums_to_what_the_payment_applies_and_never_exceeds_a_line(
    invoices: list[Decimal], credits: list[Decimal], unapplied: Decimal
) -> None:
    applied = max(sum(invoices, Decimal(0)) - sum(credits, Decimal(0)), Decimal(0))
    total = applied + unapplied  # QuickBooks: TotalAmt = invoice lines - credit lines + unapplied
    lines = [("Invoice", str(n), str(a)) for n, a in enumerate(invoices)]
    lines += [("CreditMemo", f"m{n}", str(a)) for n, a in enumerate(credits)]
    result = applications(payment(str(total), *lines))
    assert sum((a.cash for a in result), Decimal(0)) == min(total, applied)
    for application, amount in zip(result, invoices, strict=True):
        assert 0 <= application.cash <= amount
        assert application.cash + sum((taken for _, taken in application.credits), Decimal(0)) == amount
    if not credits:  # cash only: min(TotalAmt, invoice lines)
        assert sum((a.cash for a in result), Decimal(0)) == min(total, sum(invoices, Decimal(0)))


# -- the worker ------------------------------------------------------------------------------------


def _invoice(w: World, qbo_id: str, total: str, token: str, *payment_ids: str, customer: str = "1") -> None:
    w.qbo.invoices[qbo_id] = {
        "Id": qbo_id,
        "SyncToken": token,
        "TotalAmt": total,
        "CustomerRef": {"value": customer},
        "Line": [{"Amount": total}],
        "LinkedTxn": [{"TxnId": p, "TxnType": "Payment"} for p in payment_ids],
    }


def test_quickbooks_made_credit_is_flagged_not_mirrored() -> None:
    w = World()
    w.copies.add("201", "P3", total="300", sync_token="0")
    w.qbo.payments["9"] = payment("100", ("Invoice", "201", "300"), ("CreditMemo", "77", "200"))
    _invoice(w, "201", "300", "2", "9")
    report = w.event("9")
    assert w.productive.on("P3") == [(Decimal("100.00"), date(2026, 11, 2))]
    assert report.flagged == 1
    [flag] = w.copies.history("c1", "P3")[0].flags
    assert flag.kind == "credited_in_quickbooks"
    assert flag.details["amount"] == "200.00"
    assert flag.details["credit_memo_ids"] == ["77"]
    # The invoice's own event (its Balance moved) sees the same credit: nothing new.
    assert w.event("201", entity="Invoice").flagged == 0
    # The credit is taken off in QuickBooks: the payment is deleted, the invoice's event recounts.
    del w.qbo.payments["9"]
    _invoice(w, "201", "300", "3")
    w.clock.advance(minutes=1)
    w.event("9", operation="delete")
    assert w.productive.on("P3") == []
    assert w.event("201", entity="Invoice").flagged == 1
    assert w.copies.history("c1", "P3")[0].flagged("credited_in_quickbooks").details["amount"] == "0.00"  # type: ignore[union-attr]


def test_credit_from_a_credit_note_we_copied_is_known_to_productive() -> None:
    w = World()
    w.copies.add("201", "P3", total="300")
    w.copies.add("88", "P9", quickbooks_type="CreditMemo", total="200")
    w.qbo.payments["9"] = payment("100", ("Invoice", "201", "300"), ("CreditMemo", "88", "200"))
    _invoice(w, "201", "300", "2", "9")
    report = w.event("9")
    assert report.flagged == 0
    assert w.productive.on("P3") == [(Decimal("100.00"), date(2026, 11, 2))]


def test_our_own_credit_application_is_skipped_entirely() -> None:
    w = World()
    w.copies.add("201", "P3", total="300")
    w.copies.credit_applications[(REALM, "9")] = ("c1", "i1", 1)
    w.qbo.payments["9"] = payment("0", ("Invoice", "201", "200"), ("CreditMemo", "88", "200"))
    report = w.event("9")
    assert report.skipped == ["our_credit_application"]
    assert w.qbo.reads == 0


def test_void_delete_and_change_in_quickbooks_flag_the_copy_and_free_the_invoice() -> None:
    w = World()
    w.copies.add("201", "P3", total="300", sync_token="4")
    _invoice(w, "201", "300", "4")
    assert w.event("201", entity="Invoice").flagged == 0  # our own write: its SyncToken
    _invoice(w, "201", "300", "5")
    assert w.event("201", entity="Invoice").flagged == 0  # a payment moved the SyncToken only
    _invoice(w, "201", "320", "6")
    assert w.event("201", entity="Invoice").flagged == 1
    assert w.event("201", entity="Invoice").flagged == 0  # the same version again
    changed = w.copies.history("c1", "P3")[0].flagged("changed_in_quickbooks")
    assert changed is not None
    assert (changed.details["quickbooks_total"], changed.details["productive_total"]) == ("320.00", "300.00")
    assert "P3" not in w.productive.exports
    w.qbo.invoices["201"] = {"Id": "201", "SyncToken": "7", "TotalAmt": "0", "Line": [], "PrivateNote": "Voided"}
    assert w.event("201", entity="Invoice", operation="void").flagged == 1
    assert w.productive.exports["P3"] == ""  # export fields cleared: copy it again
    del w.qbo.invoices["201"]
    assert w.event("201", entity="Invoice", operation="delete").flagged == 1
    kinds = [flag.kind for flag in w.copies.history("c1", "P3")[0].flags]
    assert sorted(kinds) == ["changed_in_quickbooks", "deleted_in_quickbooks", "voided_in_quickbooks"]
    [item] = w.copies.attention("c1", 10)
    assert item.invoice_id == "P3"


def test_an_invoice_event_reads_all_its_payments_in_one_query_per_hundred() -> None:
    """An invoice paid in 150 tranches, one of them with a credit memo made in QuickBooks: its event
    reads the invoice and its payments in two queries, not a read per payment, and finds the credit
    (one listed payment was deleted meanwhile: the query just does not return it)."""
    w = World()
    w.copies.add("201", "P3", total="1500", sync_token="0")
    ids = [str(n) for n in range(1000, 1150)]
    for payment_id in ids[:-1]:
        w.qbo.payments[payment_id] = payment("10", ("Invoice", "201", "10"), payment_id=payment_id)
    w.qbo.payments["1100"] = payment("0", ("Invoice", "201", "25"), ("CreditMemo", "77", "25"), payment_id="1100")
    _invoice(w, "201", "1500", "2", *ids)
    report = w.event("201", entity="Invoice")
    assert w.qbo.reads == 3  # the invoice, then payments 1000-1099 and 1100-1149
    assert [statement.count("'") // 2 for statement in w.qbo.queries] == [100, 50]
    assert report.flagged == 1
    flag = w.copies.history("c1", "P3")[0].flagged("credited_in_quickbooks")
    assert flag is not None
    assert flag.details["amount"] == "25.00"
    assert flag.details["credit_memo_ids"] == ["77"]


def test_with_payment_sync_off_copies_are_flagged_and_freed_but_payments_left_alone() -> None:
    w = World(sync=False)
    w.copies.add("201", "P3", total="300", sync_token="4")
    # A payment using a credit memo made in QuickBooks: its own event is not ours to act on...
    w.qbo.payments["9"] = payment("100", ("Invoice", "201", "300"), ("CreditMemo", "77", "200"))
    _invoice(w, "201", "300", "5", "9")
    assert w.event("9").skipped == ["no connection of this company has payment sync on"]
    assert w.qbo.reads == 0
    # ...the invoice's own event (its Balance moved) flags the credit; nothing is mirrored.
    assert w.event("201", entity="Invoice").flagged == 1
    assert w.productive.payments == {}
    # Voided in QuickBooks: flagged and the export fields cleared; its payments are not read again.
    voided = {"Id": "201", "SyncToken": "6", "TotalAmt": "0", "Line": [], "PrivateNote": "Voided"}
    w.qbo.invoices["201"] = {**voided, "LinkedTxn": [{"TxnId": "9", "TxnType": "Payment"}]}
    reads = w.qbo.reads
    report = w.event("201", entity="Invoice", operation="void")
    assert (report.flagged, report.payments_seen, report.writes) == (1, 0, 0)
    assert w.qbo.reads == reads + 1  # the invoice only
    assert w.productive.exports["P3"] == ""  # copy it again
    kinds = sorted(flag.kind for flag in w.copies.history("c1", "P3")[0].flags)
    assert kinds == ["credited_in_quickbooks", "voided_in_quickbooks"]
    assert w.productive.payments == {}
    # A copied credit note deleted in QuickBooks is flagged too.
    w.copies.add("88", "P9", quickbooks_type="CreditMemo", total="50")
    assert w.event("88", entity="CreditMemo", operation="delete").flagged == 1
    assert w.copies.history("c1", "P9")[0].flagged("deleted_in_quickbooks") is not None


def test_a_void_of_an_older_copy_leaves_the_newer_copys_export_fields() -> None:
    w = World()
    w.copies.add("201", "P3", total="300")
    w.copies.add("202", "P3", total="300")
    w.qbo.invoices["201"] = {"Id": "201", "SyncToken": "7", "TotalAmt": "0", "Line": [], "PrivateNote": "Voided"}
    assert w.event("201", entity="Invoice", operation="void").flagged == 1
    assert "P3" not in w.productive.exports


def test_change_flag_compares_total_and_customer_with_the_copy() -> None:
    w = World()
    record = w.copies.add("201", "P3", total="300", sync_token="4", customer_id="1")
    mismatch = CopyWarning("total_mismatch", "m", {"productive_total": "299.99"})
    record = type(record)(**{**record.__dict__, "warnings": (mismatch,)})
    current = {"Id": "201", "SyncToken": "5", "TotalAmt": "300", "Line": [{}], "CustomerRef": {"value": "2"}}
    flag = change_flag(record, current, NOW)
    assert flag is not None
    assert flag.details["changed"] == ["customer"]
    assert flag.details["productive_total"] == "299.99"
    assert change_flag(record, None, NOW).kind == "deleted_in_quickbooks"  # type: ignore[union-attr]


def _line(amount: str, qty: object, price: object, description: str = "Design") -> dict[str, object]:
    detail = {"ItemRef": {"value": "7"}, "Qty": qty, "UnitPrice": price, "TaxCodeRef": {"value": "NON"}}
    return {"Id": "1", "DetailType": "SalesItemLineDetail", "Amount": amount, "Description": description,
            "SalesItemLineDetail": detail}  # fmt: skip


def test_lines_digest_reads_amounts_not_their_spelling_and_ignores_subtotals_and_ids() -> None:
    written = {"Line": [_line("100.00", 2, "50.00"), {"DetailType": "SubTotalLineDetail", "Amount": "100.00"}]}
    read_back = {"Line": [{**_line("100", "2.0", 50), "Id": "9"}]}
    assert lines_digest(written) == lines_digest(read_back)
    for edited in (
        [_line("100.00", 2, "50.00", "Rewritten")],
        [_line("100.00", 4, "25.00")],
        [_line("60.00", 1, "60.00"), _line("40.00", 1, "40.00")],
        [{**_line("100.00", 2, "50.00"), "SalesItemLineDetail": {"ItemRef": {"value": "8"}, "Qty": 2}}],
    ):
        assert lines_digest({"Line": edited}) != lines_digest(written), edited


def test_changed_parts_names_the_lines_and_our_update_resolves_change_and_mismatch_flags() -> None:
    w = World()
    record = w.copies.add("201", "P3", total="100", sync_token="4", customer_id="1")
    written = {"SyncToken": "4", "TotalAmt": "100", "CustomerRef": {"value": "1"}, "Line": [_line("100", 2, 50)]}
    record = type(record)(**{**record.__dict__, "lines_digest": lines_digest(written)})
    assert changed_parts(record, {**written, "SyncToken": "5"}) == []
    edited = {**written, "SyncToken": "6", "Line": [_line("100", 2, 50, "Rewritten")]}
    assert changed_parts(record, edited) == ["lines"]
    flag = change_flag(record, edited, NOW)
    assert flag is not None
    assert flag.details["changed"] == ["lines"]
    older = type(record)(**{**record.__dict__, "lines_digest": None})  # stored before lines were compared
    assert changed_parts(older, edited) == []
    # An update overwrites the other fields it writes too: an edit of those is an edit it overwrites.
    record = type(record)(**{**record.__dict__, "details_digest": details_digest(written)})
    noted = {**written, "PrivateNote": "edited in QuickBooks"}
    assert changed_parts(record, noted) == []
    assert changed_parts(record, noted, details=True) == ["details"]
    assert changed_parts(record, {**written, "SyncToken": "9"}, details=True) == []
    flags = (
        flag,
        CopyFlag("total_mismatch", NOW, "4", {}),
        CopyFlag("credited_in_quickbooks", NOW, "5", {}),
        CopyFlag("voided_in_quickbooks", NOW, "7", {}),
    )
    assert [f.kind for f in resolved_by_update(flags)] == ["changed_in_quickbooks", "total_mismatch"]
