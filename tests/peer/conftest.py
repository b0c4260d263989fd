"""python-quickbooks' own integration suite (``tests/integration``, vendored unchanged) against the
QuickBooks emulator as shipped: ``python -m local.qbo_emulator --latency-ms 120`` in a process of its
own, on a free loopback port, with its default settings otherwise (throttles on, Intuit's refresh
rotation). Run it with ``make peer-tests``; tests/peer/README.md has the figures.

Before the first test this file connects the emulator's default app to its US company through the
emulator's OAuth flow (intuit-oauth against its discovery document, the consent page auto-approves),
then sets what the suite's base class reads: CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, COMPANY_ID. The
suite asks for Intuit's sandbox (``environment="sandbox"``, ``qb_client.sandbox = True``), so the two
libraries' sandbox addresses are pointed at the emulator: intuit-oauth's sandbox discovery URL and
python-quickbooks' sandbox API base URL (local/qbo_emulator/README.md, "With the common clients").
Every test's setUp refreshes with the same REFRESH_TOKEN, which works because Intuit keeps a refresh
token's value for 24 hours."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from intuitlib import config as intuit_config
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from quickbooks.client import QuickBooks

REPO_ROOT = Path(__file__).resolve().parents[2]
LATENCY_MS = 120
REDIRECT_URI = "http://localhost:8000/callback"  # the one the suite's base class uses

_ENGINE = "not emulated on this branch: {} (the entity-engine work adds it)"
_SEED = "the seeded US company lacks Intuit's sample data: {} (the entity-engine work adds it)"

# The tests known to fail, with why (tests/peer/README.md). They are marked strict xfail: a test that
# starts passing fails the run until its line here is removed, so the list stays true.
EXPECTED_FAILURES: dict[str, str] = {
    "test_account.py::AccountTest::test_create": _ENGINE.format("Account create"),
    "test_account.py::AccountTest::test_create_using_from_json": _ENGINE.format("Account create"),
    "test_account.py::AccountTest::test_update": _ENGINE.format("Account create and update"),
    "test_bill.py::BillTest::test_create": _ENGINE.format("Bill"),
    "test_billpayment.py::BillPaymentTest::test_create": _ENGINE.format("Bill, BillPayment"),
    "test_billpayment.py::BillPaymentTest::test_void": _ENGINE.format("Bill, BillPayment"),
    "test_companycurrency.py::CompanyCurrencyTest::test_get": _ENGINE.format("CompanyCurrency"),
    "test_companycurrency.py::CompanyCurrencyTest::test_get_all": _ENGINE.format("CompanyCurrency"),
    "test_creditcardpayment_entity.py::CreditCardPaymentEntityTest::test_create": _ENGINE.format(
        "Account create, CreditCardPayment"
    ),
    "test_creditcardpayment_entity.py::CreditCardPaymentEntityTest::test_update": _ENGINE.format("CreditCardPayment"),
    "test_creditmemo.py::CreditMemoTest::test_create": _ENGINE.format("CreditMemo"),
    "test_creditmemo.py::CreditMemoTest::test_update": _ENGINE.format("CreditMemo"),
    "test_department.py::DepartmentTest::test_create": _ENGINE.format("Department"),
    "test_department.py::DepartmentTest::test_update": _ENGINE.format("Department"),
    "test_deposit.py::DepositTest::test_create": _SEED.format("two Bank accounts") + "; Deposit",
    "test_estimate.py::EstimateTest::test_create": _ENGINE.format("Estimate"),
    "test_exchangerate.py::ExchangeRateTest::test_query": _ENGINE.format("ExchangeRate"),
    "test_exchangerate.py::ExchangeRateTest::test_update": _ENGINE.format("ExchangeRate"),
    "test_invoice.py::InvoiceTest::test_invoice_link": _ENGINE.format("include=invoiceLink"),
    "test_item.py::ItemTest::test_create": _SEED.format("income, expense and inventory asset accounts"),
    "test_item.py::ItemTest::test_sku_in_all": _SEED.format("income, expense and inventory asset accounts"),
    "test_payment.py::PaymentTest::test_create": _ENGINE.format("PaymentMethod"),
    "test_payment.py::PaymentTest::test_getall": _SEED.format("at least 5 payments"),
    "test_payment.py::PaymentTest::test_void": _ENGINE.format("PaymentMethod"),
    "test_preferences.py::PreferencesTest::test_get": _SEED.format("Intuit's sample Preferences"),
    "test_preferences.py::PreferencesTest::test_update": _ENGINE.format("Preferences update"),
    "test_purchase.py::PurchaseOrderTest::test_create": _SEED.format("an Inventory item") + "; Purchase",
    "test_purchaseorder.py::PurchaseOrderTest::test_create": _SEED.format("an Inventory item") + "; PurchaseOrder",
    "test_recurringtransaction.py::RecurringTransactionTest::test_create_recurring_bill": _ENGINE.format(
        "RecurringTransaction"
    ),
    "test_recurringtransaction.py::RecurringTransactionTest::test_create_recurring_invoice": _ENGINE.format(
        "RecurringTransaction"
    ),
    "test_recurringtransaction.py::RecurringTransactionTest::test_delete_recurring_invoice": _ENGINE.format(
        "RecurringTransaction"
    ),
    "test_recurringtransaction.py::RecurringTransactionTest::test_filter_by_type": _ENGINE.format(
        "RecurringTransaction"
    ),
    "test_recurringtransaction.py::RecurringTransactionTest::test_get_all": _ENGINE.format("RecurringTransaction"),
    "test_recurringtransaction.py::RecurringTransactionTest::test_update_recurring_invoice": _ENGINE.format(
        "RecurringTransaction"
    ),
    "test_refundreceipt.py::PaymentTest::test_create": _ENGINE.format("RefundReceipt"),
    "test_salesreceipt.py::SalesReceiptTest::test_create": _ENGINE.format("SalesReceipt"),
    "test_salesreceipt.py::SalesReceiptTest::test_void": _ENGINE.format("SalesReceipt"),
    "test_taxagency.py::TaxAgencyTest::test_create": _ENGINE.format("TaxAgency"),
    "test_taxagency.py::TaxAgencyTest::test_read": _ENGINE.format("TaxAgency"),
    "test_taxcode.py::TaxCodeTest::test_get_all": (
        "Intuit's own bug, which the test itself describes: a TaxCode query with MAXRESULTS 1 answers 4 "
        "codes. How many extra codes, and which, is not documented, so the emulator keeps to MAXRESULTS"
    ),
    "test_taxservice.py::TaxServiceTest::test_create": _ENGINE.format("TaxService/Taxcode"),
    "test_term.py::TermTest::test_create": _ENGINE.format("Term create"),
    "test_term.py::TermTest::test_update": _ENGINE.format("Term update"),
    "test_timeactivity.py::TimeActivityTest::test_create": _ENGINE.format("TimeActivity"),
    "test_timeactivity.py::TimeActivityTest::test_update": _ENGINE.format("TimeActivity"),
    "test_trackingclass.py::ClassTest::test_create": _ENGINE.format("Class"),
    "test_trackingclass.py::ClassTest::test_update": _ENGINE.format("Class"),
    "test_transfer.py::TransferTest::test_create": _ENGINE.format("Transfer"),
    "test_transfer.py::TransferTest::test_update": _ENGINE.format("Transfer"),
}

_running: dict[str, Any] = {}


def _banner(process: subprocess.Popen[str]) -> dict[str, str]:
    """The settings the emulator prints when it starts ("  client_id:  ABC..." lines)."""
    assert process.stdout is not None
    settings: dict[str, str] = {}
    for line in process.stdout:
        if line.startswith("QBO emulator listening on "):
            settings["base"] = line.split()[-1]
        elif line.startswith("Press Ctrl-C"):
            return settings
        else:
            name, _, value = line.strip().partition(":")
            settings[name] = value.strip()
    raise RuntimeError(f"the emulator stopped before it was ready (exit code {process.wait()})")


def _connect(settings: dict[str, str]) -> tuple[str, str]:
    """The emulator's OAuth flow: authorize (auto-consent), then exchange the code. Returns the
    refresh token and the company (realm) id."""
    client = AuthClient(
        client_id=settings["client_id"],
        client_secret=settings["client_secret"],
        redirect_uri=REDIRECT_URI,
        environment=settings["discovery"],
    )
    consent = requests.get(client.get_authorization_url([Scopes.ACCOUNTING]), allow_redirects=False, timeout=30)
    assert consent.status_code == 302, consent.text
    callback = parse_qs(urlsplit(consent.headers["Location"]).query)
    realm_id = callback["realmId"][0]
    client.get_bearer_token(callback["code"][0], realm_id=realm_id)
    return str(client.refresh_token), realm_id


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        reason = EXPECTED_FAILURES.get(item.nodeid.removeprefix("tests/integration/"))
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


def pytest_sessionstart(session: pytest.Session) -> None:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "local.qbo_emulator", "--port", "0", "--latency-ms", str(LATENCY_MS)],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    _running["process"] = process
    _running["saved"] = (dict(os.environ), dict(intuit_config.DISCOVERY_URL), QuickBooks.sandbox_api_url_v3)
    try:
        settings = _banner(process)
        # requests-oauthlib (python-quickbooks' HTTP layer) refuses plain http:// unless told.
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
        refresh_token, realm_id = _connect(settings)
    except BaseException:
        pytest_sessionfinish(session, 1)
        raise
    os.environ.update(
        {
            "CLIENT_ID": settings["client_id"],
            "CLIENT_SECRET": settings["client_secret"],
            "REFRESH_TOKEN": refresh_token,
            "COMPANY_ID": realm_id,
        }
    )
    intuit_config.DISCOVERY_URL["sandbox"] = settings["discovery"]
    QuickBooks.sandbox_api_url_v3 = settings["base"] + "/v3"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    saved = _running.pop("saved", None)
    if saved is not None:
        environment, discovery, api_url = saved
        os.environ.clear()
        os.environ.update(environment)
        intuit_config.DISCOVERY_URL.clear()
        intuit_config.DISCOVERY_URL.update(discovery)
        QuickBooks.sandbox_api_url_v3 = api_url
    process = _running.pop("process", None)
    if process is not None:
        process.terminate()
        process.wait(timeout=10)
