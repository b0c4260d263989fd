"""Balances the ledger derives: credit memos applied to invoices through payments, customers with jobs,
bills paid and credited, and account balances moved by deposits, transfers and card payments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.emulators.qbo.helpers import Api

Body = dict[str, Any]


def ref(value: str) -> dict[str, str]:
    return {"value": value}


def ok(response: httpx.Response, key: str) -> Body:
    assert response.status_code == 200, response.text
    return dict(response.json()[key])


def code(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    return str(response.json()["Fault"]["Error"][0]["code"])


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def line(amount: str, item: str = "2") -> Body:
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {"ItemRef": ref(item), "TaxCodeRef": ref("NON")},
    }


def customer(api: Api, name: str, **extra: Any) -> Body:
    return ok(api.post("customer", {"DisplayName": name, **extra}), "Customer")


def invoice(api: Api, customer_id: str, amount: str) -> Body:
    return ok(api.post("invoice", {"CustomerRef": ref(customer_id), "Line": [line(amount)]}), "Invoice")


def credit_memo(api: Api, customer_id: str, amount: str) -> Body:
    return ok(api.post("creditmemo", {"CustomerRef": ref(customer_id), "Line": [line(amount)]}), "CreditMemo")


def applied(*links: tuple[str, str, str]) -> list[Body]:
    return [{"Amount": amount, "LinkedTxn": [{"TxnId": txn, "TxnType": kind}]} for kind, txn, amount in links]


def pay(api: Api, customer_id: str, total: str, *links: tuple[str, str, str]) -> httpx.Response:
    return api.post("payment", {"CustomerRef": ref(customer_id), "TotalAmt": total, "Line": applied(*links)})


def get(api: Api, path: str, key: str) -> Body:
    return ok(api.get(path), key)


def test_credit_memo_applied_to_an_invoice_with_a_zero_payment(us: Api) -> None:
    who = customer(us, "Credit Co")["Id"]
    inv = invoice(us, who, "100")
    memo = credit_memo(us, who, "100")
    assert money(get(us, f"customer/{who}", "Customer")["Balance"]) == 0  # 100 owed, 100 credit
    payment = ok(pay(us, who, "0", ("Invoice", inv["Id"], "100"), ("CreditMemo", memo["Id"], "100")), "Payment")
    assert money(payment["TotalAmt"]) == 0
    assert money(payment["UnappliedAmt"]) == 0
    stored_invoice = get(us, f"invoice/{inv['Id']}", "Invoice")
    stored_memo = get(us, f"creditmemo/{memo['Id']}", "CreditMemo")
    assert money(stored_invoice["Balance"]) == 0
    assert money(stored_memo["RemainingCredit"]) == 0
    assert money(stored_memo["Balance"]) == 0
    assert stored_invoice["LinkedTxn"] == stored_memo["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert stored_memo["SyncToken"] == "1"
    assert money(get(us, f"customer/{who}", "Customer")["Balance"]) == 0


def test_part_of_a_credit_and_cash_pay_an_invoice(us: Api) -> None:
    who = customer(us, "Partial Credit Co")["Id"]
    inv = invoice(us, who, "100")
    memo = credit_memo(us, who, "50")
    payment = ok(pay(us, who, "80", ("Invoice", inv["Id"], "100"), ("CreditMemo", memo["Id"], "20")), "Payment")
    assert money(payment["UnappliedAmt"]) == 0
    assert money(get(us, f"creditmemo/{memo['Id']}", "CreditMemo")["RemainingCredit"]) == 30
    assert money(get(us, f"customer/{who}", "Customer")["Balance"]) == -30
    # voiding the payment gives both back
    voided = us.post(
        "payment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True}, operation="update", include="void"
    )
    assert voided.status_code == 200, voided.text
    assert money(get(us, f"invoice/{inv['Id']}", "Invoice")["Balance"]) == 100
    memo_after = get(us, f"creditmemo/{memo['Id']}", "CreditMemo")
    assert money(memo_after["RemainingCredit"]) == 50
    assert memo_after["LinkedTxn"] == []
    assert money(get(us, f"customer/{who}", "Customer")["Balance"]) == 50


def test_credit_application_limits(us: Api) -> None:
    who = customer(us, "Limits Co")["Id"]
    other = customer(us, "Other Limits Co")["Id"]
    inv = invoice(us, who, "100")
    memo = credit_memo(us, who, "40")
    foreign = credit_memo(us, other, "40")
    assert code(pay(us, who, "0", ("Invoice", inv["Id"], "60"), ("CreditMemo", memo["Id"], "60"))) == "6000"
    assert code(pay(us, who, "0", ("Invoice", inv["Id"], "10"), ("CreditMemo", memo["Id"], "40"))) == "6000"
    assert code(pay(us, who, "0", ("Invoice", inv["Id"], "40"), ("CreditMemo", foreign["Id"], "40"))) == "6000"
    assert code(pay(us, who, "0", ("Invoice", inv["Id"], "40"), ("CreditMemo", "424242", "40"))) == "2500"
    used = ok(pay(us, who, "0", ("Invoice", inv["Id"], "40"), ("CreditMemo", memo["Id"], "40")), "Payment")
    assert used["Id"]
    # an applied credit memo can neither be deleted nor shrunk below what is applied
    assert code(us.post("creditmemo", {"Id": memo["Id"], "SyncToken": "1"}, operation="delete")) == "6000"
    shrink = {"Id": memo["Id"], "SyncToken": "1", "sparse": True, "Line": [line("10")]}
    assert code(us.post("creditmemo", shrink)) == "6000"


def test_jobs_roll_up_into_their_parent(us: Api) -> None:
    parent = customer(us, "Roll Up Co")
    job = customer(us, "Roll Up Job", Job=True, ParentRef=ref(parent["Id"]))
    grandchild = customer(us, "Roll Up Phase", Job=True, ParentRef=ref(job["Id"]))
    assert grandchild["FullyQualifiedName"] == "Roll Up Co:Roll Up Job:Roll Up Phase"
    assert grandchild["Level"] == 2
    invoice(us, job["Id"], "70")
    invoice(us, grandchild["Id"], "30")
    invoice(us, parent["Id"], "5")
    top = get(us, f"customer/{parent['Id']}", "Customer")
    assert money(top["Balance"]) == 5
    assert money(top["BalanceWithJobs"]) == 105
    middle = get(us, f"customer/{job['Id']}", "Customer")
    assert money(middle["Balance"]) == 70
    assert money(middle["BalanceWithJobs"]) == 100


def test_bill_payments_and_vendor_credits(us: Api) -> None:
    vendor = ok(us.post("vendor", {"DisplayName": "Ledger Supplies"}), "Vendor")["Id"]
    expense = {
        "DetailType": "AccountBasedExpenseLineDetail",
        "Amount": "300",
        "AccountBasedExpenseLineDetail": {"AccountRef": ref("91")},
    }
    bill = ok(us.post("bill", {"VendorRef": ref(vendor), "Line": [expense]}), "Bill")
    credit = ok(
        us.post("vendorcredit", {"VendorRef": ref(vendor), "Line": [{**expense, "Amount": "50"}]}), "VendorCredit"
    )
    assert money(get(us, f"vendor/{vendor}", "Vendor")["Balance"]) == 250
    checking_before = money(get(us, "account/6", "Account")["CurrentBalance"])
    payment = ok(
        us.post(
            "billpayment",
            {
                "VendorRef": ref(vendor),
                "PayType": "Check",
                "CheckPayment": {"BankAccountRef": ref("6")},
                "TotalAmt": "150",
                "Line": applied(("Bill", bill["Id"], "200"), ("VendorCredit", credit["Id"], "50")),
            },
        ),
        "BillPayment",
    )
    stored = get(us, f"bill/{bill['Id']}", "Bill")
    assert money(stored["Balance"]) == 100
    assert stored["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "BillPayment"}]
    assert money(get(us, f"vendorcredit/{credit['Id']}", "VendorCredit")["Balance"]) == 0
    assert money(get(us, f"vendor/{vendor}", "Vendor")["Balance"]) == 100
    assert money(get(us, "account/6", "Account")["CurrentBalance"]) == checking_before - 150
    assert code(us.post("bill", {"Id": bill["Id"], "SyncToken": stored["SyncToken"]}, operation="delete")) == "6000"
    us.post("billpayment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True}, operation="update", include="void")
    assert money(get(us, f"bill/{bill['Id']}", "Bill")["Balance"]) == 300
    assert money(get(us, "account/6", "Account")["CurrentBalance"]) == checking_before


def test_deposits_transfers_and_card_payments_move_account_balances(us: Api) -> None:
    def balance(account: str) -> Decimal:
        return money(get(us, f"account/{account}", "Account")["CurrentBalance"])

    undeposited, checking, savings, visa = balance("4"), balance("6"), balance("36"), balance("42")
    payment = ok(pay(us, "1", "100"), "Payment")
    assert balance("4") == undeposited + 100
    deposit = ok(
        us.post(
            "deposit",
            {
                "DepositToAccountRef": ref("6"),
                "Line": [{"Amount": "100", "LinkedTxn": [{"TxnId": payment["Id"], "TxnType": "Payment"}]}],
            },
        ),
        "Deposit",
    )
    assert money(deposit["TotalAmt"]) == 100
    assert (balance("4"), balance("6")) == (undeposited, checking + 100)
    memo = us.post("payment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True, "PaymentRefNum": "x"})
    assert memo.status_code == 200, memo.text  # what the deposit does not depend on may change
    more = us.post("payment", {"Id": payment["Id"], "SyncToken": "1", "sparse": True, "TotalAmt": "120"})
    assert code(more) == "6540"
    assert code(us.post("payment", {"Id": payment["Id"], "SyncToken": "1"}, operation="delete")) == "6540"
    twice = {
        "DepositToAccountRef": ref("6"),
        "Line": [{"Amount": "100", "LinkedTxn": [{"TxnId": payment["Id"], "TxnType": "Payment"}]}],
    }
    assert code(us.post("deposit", twice)) == "6000"
    ok(us.post("transfer", {"Amount": "40", "FromAccountRef": ref("6"), "ToAccountRef": ref("36")}), "Transfer")
    assert (balance("6"), balance("36")) == (checking + 60, savings + 40)
    card = {
        "PaymentType": "CreditCard",
        "AccountRef": ref("42"),
        "Line": [
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": "25",
                "AccountBasedExpenseLineDetail": {"AccountRef": ref("91")},
            }
        ],
    }
    ok(us.post("purchase", card), "Purchase")
    assert balance("42") == visa + 25
    ok(
        us.post("creditcardpayment", {"Amount": "25", "BankAccountRef": ref("6"), "CreditCardAccountRef": ref("42")}),
        "CreditCardPaymentTxn",
    )
    assert (balance("6"), balance("42")) == (checking + 35, visa)
    assert money(get(us, "account/91", "Account")["CurrentBalance"]) == 0  # expense accounts report no balance


def test_account_rules(us: Api) -> None:
    wrong_type = {
        "PaymentType": "CreditCard",
        "AccountRef": ref("6"),
        "Line": [
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": "5",
                "AccountBasedExpenseLineDetail": {"AccountRef": ref("91")},
            }
        ],
    }
    response = us.post("purchase", wrong_type)
    assert code(response) == "6000"
    assert "Invalid account type" in response.json()["Fault"]["Error"][0]["Detail"]
    unbalanced = {
        "Line": [
            {
                "DetailType": "JournalEntryLineDetail",
                "Amount": "9",
                "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": ref("91")},
            },
            {
                "DetailType": "JournalEntryLineDetail",
                "Amount": "8",
                "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": ref("6")},
            },
        ]
    }
    assert code(us.post("journalentry", unbalanced)) == "6000"
    receivable = {
        "Line": [
            {
                "DetailType": "JournalEntryLineDetail",
                "Amount": "9",
                "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": ref("2")},
            },
            {
                "DetailType": "JournalEntryLineDetail",
                "Amount": "9",
                "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": ref("1")},
            },
        ]
    }
    assert code(us.post("journalentry", receivable)) == "6000"  # A/R needs a customer
    sub = ok(us.post("account", {"Name": "Petty Cash", "SubAccount": True, "ParentRef": ref("6")}), "Account")
    assert sub["FullyQualifiedName"] == "Checking:Petty Cash"
    assert sub["AccountType"] == "Bank"
    assert code(us.post("account", {"Name": "Bad: Name", "AccountType": "Bank"})) == "6000"
    assert code(us.post("account", {"Name": "Checking", "AccountType": "Bank"})) == "6240"
    assert code(us.post("account", {"Name": "No Type"})) == "2020"
    assert code(us.post("account", {"Name": "Odd Type", "AccountType": "Sideways"})) == "2170"
