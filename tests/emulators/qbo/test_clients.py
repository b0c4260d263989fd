"""Independent clients, unchanged, against the emulator: intuit-oauth (intuitlib) and python-quickbooks."""

from __future__ import annotations

import io
import warnings
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from pypdf import PdfReader
from quickbooks import QuickBooks
from quickbooks.exceptions import (
    AuthorizationException,
    QuickbooksException,
    UnsupportedException,
    ValidationException,
)
from quickbooks.objects.attachable import Attachable
from quickbooks.objects.base import AttachableRef, CustomerMemo, Ref
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.tax import TxnTaxDetail

from local.qbo_emulator import QboEmulator
from tests.emulators.qbo.helpers import next_doc_number, seeded


@pytest.fixture(autouse=True)
def _plain_http_for_oauthlib(monkeypatch: pytest.MonkeyPatch) -> None:
    # python-quickbooks signs requests with requests-oauthlib, which refuses http:// URLs unless told.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def auth_client(emu: QboEmulator) -> AuthClient:
    # A discovery-document URL is accepted where "sandbox"/"production" would go.
    return AuthClient(
        client_id=emu.DEFAULT_CLIENT_ID,
        client_secret=emu.DEFAULT_CLIENT_SECRET,
        redirect_uri=emu.DEFAULT_REDIRECT_URI,
        environment=emu.discovery_url,
    )


def consent(client: AuthClient, realm_id: str | None = None) -> tuple[str, str]:
    url = client.get_authorization_url([Scopes.ACCOUNTING, Scopes.OPENID])
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302
    params = parse_qs(urlsplit(response.headers["location"]).query)
    assert params["state"] == [client.state_token]
    return params["code"][0], params["realmId"][0]


@pytest.fixture
def connected(emu: QboEmulator) -> AuthClient:
    client = auth_client(emu)
    code, realm_id = consent(client)
    client.get_bearer_token(code, realm_id=realm_id)
    return client


@pytest.fixture
def qb(emu: QboEmulator, connected: AuthClient) -> Any:
    client = QuickBooks(
        auth_client=connected,
        refresh_token=connected.refresh_token,
        company_id=connected.realm_id,
        minorversion=75,
    )
    client.api_url_v3 = emu.api_base_url
    return client


def test_intuitlib_endpoints_come_from_the_discovery_document(emu: QboEmulator) -> None:
    client = auth_client(emu)
    assert client.auth_endpoint == f"{emu.base_url}/connect/oauth2"
    assert client.token_endpoint == f"{emu.base_url}/oauth2/v1/tokens/bearer"
    assert client.revoke_endpoint == f"{emu.base_url}/v2/oauth2/tokens/revoke"


def test_intuitlib_full_dance_refresh_and_revoke(emu: QboEmulator) -> None:
    client = auth_client(emu)
    code, realm_id = consent(client)
    assert realm_id == emu.US_REALM
    client.get_bearer_token(code, realm_id=realm_id)
    assert client.access_token.startswith("eyJ")
    assert client.refresh_token.startswith("RT1-")
    assert client.expires_in == 3600
    assert client.x_refresh_token_expires_in == 8_726_400
    first_refresh, first_access = client.refresh_token, client.access_token
    client.refresh()  # within a day of its issue: Intuit answers with the same refresh token
    assert client.refresh_token == first_refresh
    assert client.access_token != first_access
    emu.clock.advance(86_400)
    client.refresh()  # a day later: a new value; the old one keeps working for another day
    assert client.refresh_token != first_refresh
    emu.clock.advance(86_400)
    with pytest.raises(AuthClientError) as info:
        client.refresh(refresh_token=first_refresh)
    assert info.value.status_code == 400
    assert client.revoke() is True
    assert not emu.is_connected(emu.US_REALM, emu.DEFAULT_CLIENT_ID)
    with pytest.raises(AuthClientError):
        client.refresh()


def test_intuitlib_against_strict_rotation(emu: QboEmulator) -> None:
    emu.set_rotation("strict")
    client = auth_client(emu)
    code, realm_id = consent(client)
    client.get_bearer_token(code, realm_id=realm_id)
    first_refresh = client.refresh_token
    client.refresh()
    assert client.refresh_token != first_refresh
    with pytest.raises(AuthClientError) as info:
        client.refresh(refresh_token=first_refresh)
    assert info.value.status_code == 400
    client.refresh()  # intuitlib keeps the newest value


def test_intuitlib_code_reuse_is_rejected(emu: QboEmulator) -> None:
    client = auth_client(emu)
    code, realm_id = consent(client)
    client.get_bearer_token(code, realm_id=realm_id)
    with pytest.raises(AuthClientError) as info:
        client.get_bearer_token(code, realm_id=realm_id)
    assert "invalid_grant" in info.value.content.decode()


def test_python_quickbooks_query_filter_all_count(qb: QuickBooks, emu: QboEmulator) -> None:
    active_customers = len(seeded(emu, emu.US_REALM, "Customer"))
    customers = Customer.all(qb=qb)
    assert len(customers) == active_customers
    amy = Customer.filter(DisplayName="Amy's Bird Sanctuary", qb=qb)
    assert [c.DisplayName for c in amy] == ["Amy's Bird Sanctuary"]
    assert amy[0].CurrencyRef.value == "USD"
    inactive = Customer.where("Active = false", qb=qb)
    assert [c.DisplayName for c in inactive] == ["Dormant Dynamics"]
    page = Customer.filter(Active=True, order_by="DisplayName", start_position=2, max_results=2, qb=qb)
    assert len(page) == 2
    assert Customer.count(qb=qb) == active_customers
    picked = Customer.choose(["Smith & Sons", "O'Brien & Co."], field="DisplayName", qb=qb)
    assert sorted(c.DisplayName for c in picked) == ["O'Brien & Co.", "Smith & Sons"]
    items = Item.all(qb=qb)
    assert sorted(i.Name for i in items) == sorted(i["Name"] for i in seeded(emu, emu.US_REALM, "Item"))
    assert {"Consulting", "Design", "Development", "Services", "Training"} <= {i.Name for i in items}
    assert Customer.get(1, qb=qb).DisplayName == "Amy's Bird Sanctuary"


def test_python_quickbooks_non_ascii_and_quotes_in_filter(qb: QuickBooks) -> None:
    assert [c.DisplayName for c in Customer.filter(DisplayName="Café Olé", qb=qb)] == ["Café Olé"]
    assert [c.DisplayName for c in Customer.filter(DisplayName="O'Brien & Co.", qb=qb)] == ["O'Brien & Co."]


def test_python_quickbooks_company_info_and_preferences(qb: QuickBooks, emu: QboEmulator) -> None:
    from quickbooks.objects.company_info import CompanyInfo
    from quickbooks.objects.preferences import Preferences

    info = CompanyInfo.get(emu.US_REALM, qb=qb)
    assert info.CompanyName == "Sandbox Company US"
    prefs = Preferences.get(qb=qb)
    assert prefs.SalesFormsPrefs.CustomTxnNumbers is False
    assert [c.CompanyName for c in CompanyInfo.all(qb=qb)] == ["Sandbox Company US"]
    assert CompanyInfo.count(qb=qb) == 1


def test_python_quickbooks_report_is_an_unsupported_operation(qb: QuickBooks) -> None:
    with pytest.raises(UnsupportedException) as info:
        qb.get_report("ProfitAndLoss", qs={"start_date": "2026-01-01"})
    assert info.value.error_code == 500


def test_python_quickbooks_expired_token_raises_authorization_exception(qb: QuickBooks, emu: QboEmulator) -> None:
    emu.clock.advance(3601)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AuthorizationException):
            Customer.all(qb=qb)


def _ref(value: str) -> Any:
    ref = Ref()
    ref.value = value
    return ref


def test_python_quickbooks_creates_customer_and_invoice(qb: Any, emu: QboEmulator) -> None:
    number = next_doc_number(emu, emu.US_REALM)
    customer = Customer()
    customer.DisplayName = "Pythonic O'Hara & Co"
    customer.CompanyName = "Pythonic O'Hara & Co"
    saved = customer.save(qb=qb)
    assert saved.Id
    assert saved.SyncToken == "0"
    assert saved.CurrencyRef.value == "USD"
    assert "Title" not in qb.get_single_object("Customer", saved.Id)["Customer"]  # "" fields are not stored
    found = Customer.filter(DisplayName="Pythonic O'Hara & Co", qb=qb)
    assert [c.Id for c in found] == [saved.Id]

    duplicate = Customer()
    duplicate.DisplayName = "Northwind Traders"  # a vendor's name
    with pytest.raises(QuickbooksException) as info:
        duplicate.save(qb=qb)
    assert info.value.error_code == 6240

    invoice = Invoice()
    invoice.CustomerRef = saved.to_ref()
    line = SalesItemLine()
    line.Amount = Decimal("300.00")
    line.Description = "Design sprint"
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = _ref("2")
    line.SalesItemLineDetail.Qty = 4
    line.SalesItemLineDetail.UnitPrice = Decimal("75")
    line.SalesItemLineDetail.TaxCodeRef = _ref("TAX")
    invoice.Line.append(line)
    invoice.TxnTaxDetail = TxnTaxDetail()
    invoice.TxnTaxDetail.TxnTaxCodeRef = _ref("2")
    memo = CustomerMemo()
    memo.value = "Thank you"
    invoice.CustomerMemo = memo
    invoice.PrivateNote = "src:py-1"
    created = invoice.save(qb=qb, request_id="py-invoice-1")
    assert created.DocNumber == number
    assert Decimal(str(created.TotalAmt)) == Decimal("327.00")  # 300 + 21.75 + 5.25
    assert Decimal(str(created.TxnTaxDetail.TotalTax)) == Decimal("27.00")
    again = invoice.save(qb=qb, request_id="py-invoice-1")
    assert again.Id == created.Id

    # full update through the library: read, change, save
    fetched = Invoice.get(created.Id, qb=qb)
    fetched.PrivateNote = "src:py-1 edited"
    updated = fetched.save(qb=qb)
    assert updated.SyncToken == "1"
    assert updated.PrivateNote == "src:py-1 edited"
    assert Decimal(str(updated.TotalAmt)) == Decimal("327.00")

    # stale SyncToken
    fetched.PrivateNote = "stale"
    with pytest.raises(QuickbooksException) as stale:
        fetched.save(qb=qb)
    assert stale.value.error_code == 5010

    pdf = updated.download_pdf(qb=qb)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Pythonic O'Hara & Co" in text
    assert "327.00" in text

    updated.void(qb=qb)
    assert Decimal(str(Invoice.get(created.Id, qb=qb).TotalAmt)) == 0


def test_python_quickbooks_invoice_lines_without_qty(qb: Any) -> None:
    # The library sends Qty 0 / UnitPrice 0 when they are not set; the Amount stands.
    invoice = Invoice()
    invoice.CustomerRef = _ref("2")
    line = SalesItemLine()
    line.Amount = 150
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = _ref("4")
    invoice.Line.append(line)
    created = invoice.save(qb=qb)
    assert Decimal(str(created.TotalAmt)) == 150
    created.delete(qb=qb)
    with pytest.raises(QuickbooksException):
        Invoice.get(created.Id, qb=qb)


def test_python_quickbooks_validation_error_mapping(qb: Any) -> None:
    invoice = Invoice()
    invoice.CustomerRef = _ref("999")
    line = SalesItemLine()
    line.Amount = 10
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = _ref("2")
    invoice.Line.append(line)
    with pytest.raises(ValidationException) as info:  # 2500 falls in the library's 2000-4999 range
        invoice.save(qb=qb)
    assert info.value.error_code == 2500


def test_python_quickbooks_attachable_upload(qb: Any) -> None:
    invoice = Invoice()
    invoice.CustomerRef = _ref("1")
    line = SalesItemLine()
    line.Amount = 75
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = _ref("2")
    invoice.Line.append(line)
    created = invoice.save(qb=qb)
    attachable = Attachable()
    ref = AttachableRef()
    ref.EntityRef = created.to_ref()
    attachable.AttachableRef.append(ref)
    attachable.FileName = "notes.txt"
    attachable.ContentType = "text/plain"
    attachable._FileBytes = b"uploaded by python-quickbooks"
    saved = attachable.save(qb=qb)
    assert saved.Id
    assert saved.Size == len(b"uploaded by python-quickbooks")
    assert httpx.get(saved.TempDownloadUri).content == b"uploaded by python-quickbooks"


def test_python_quickbooks_cdc_and_batch(qb: Any, emu: QboEmulator) -> None:
    from datetime import UTC, datetime, timedelta

    from quickbooks.batch import batch_create
    from quickbooks.cdc import change_data_capture

    since = datetime.now(UTC) - timedelta(minutes=1)
    customers = []
    for name in ("Batch One", "Batch Two", "Smith & Sons"):
        customer = Customer()
        customer.DisplayName = name
        customers.append(customer)
    result = batch_create(customers, qb=qb)
    assert sorted(c.DisplayName for c in result.successes) == ["Batch One", "Batch Two"]
    assert len(result.faults) == 1
    assert result.faults[0].Error[0].code == "6240"
    changes = change_data_capture([Customer, Invoice], since.strftime("%Y-%m-%dT%H:%M:%S+00:00"), qb=qb)
    assert sorted(c.DisplayName for c in changes.Customer) == ["Batch One", "Batch Two"]


def test_python_quickbooks_customer_round_trip_update(qb: Any) -> None:
    amy = Customer.get(1, qb=qb)
    amy.Notes = "VIP"
    saved = amy.save(qb=qb)
    assert saved.SyncToken == "1"
    assert saved.Notes == "VIP"
    assert saved.DisplayName == "Amy's Bird Sanctuary"
    assert saved.PrimaryEmailAddr.Address == "birds@intuit.example"
    assert Customer.get(1, qb=qb).Notes == "VIP"


def test_python_quickbooks_creates_a_sub_customer_and_a_class_and_uses_both(qb: Any, emu: QboEmulator) -> None:
    from quickbooks.objects.trackingclass import Class

    parent = Customer()
    parent.DisplayName = "Parent Agency Client"
    parent = parent.save(qb=qb)
    job = Customer()
    job.DisplayName = "Website relaunch"
    job.Job = True
    job.ParentRef = parent.to_ref()
    job = job.save(qb=qb)
    read = Customer.get(job.Id, qb=qb)
    assert read.Job is True
    assert read.ParentRef.value == parent.Id
    assert read.FullyQualifiedName == "Parent Agency Client:Website relaunch"
    assert read.Level == 1
    assert [c.Id for c in Customer.filter(ParentRef=parent.Id, qb=qb)] == [job.Id]
    # Display names are unique across the whole list, sub-customers included, whatever the parent.
    same_name = Customer()
    same_name.DisplayName = "website RELAUNCH"
    same_name.Job = True
    same_name.ParentRef = _ref("1")
    with pytest.raises(QuickbooksException) as taken:
        same_name.save(qb=qb)
    assert taken.value.error_code == 6240

    tracking = Class()
    tracking.Name = "Agency Projects"
    tracking = tracking.save(qb=qb)
    assert Class.get(tracking.Id, qb=qb).Name == "Agency Projects"

    def invoice_for_job() -> Any:
        invoice = Invoice()
        invoice.CustomerRef = job.to_ref()
        line = SalesItemLine()
        line.Amount = Decimal("120.00")
        line.SalesItemLineDetail = SalesItemLineDetail()
        line.SalesItemLineDetail.ItemRef = _ref("2")
        line.SalesItemLineDetail.Qty = 1
        line.SalesItemLineDetail.UnitPrice = Decimal("120")
        line.SalesItemLineDetail.ClassRef = tracking.to_ref()
        invoice.Line.append(line)
        return invoice

    # A line class needs class tracking per line (off in the sample company, as in a new one).
    with pytest.raises(QuickbooksException) as off:
        invoice_for_job().save(qb=qb)
    assert off.value.error_code == 6000
    emu.set_preference(emu.US_REALM, "AccountingInfoPrefs.ClassTrackingPerTxnLine", True)
    created = invoice_for_job().save(qb=qb)
    assert created.Line[0].SalesItemLineDetail.ClassRef.value == tracking.Id
    assert created.CustomerRef.value == job.Id
    assert Decimal(str(Customer.get(parent.Id, qb=qb).BalanceWithJobs)) == Decimal("120.00")


def test_intuitlib_openid_id_token_and_user_info(emu: QboEmulator) -> None:
    client = auth_client(emu)
    url = client.get_authorization_url([Scopes.ACCOUNTING, Scopes.OPENID, Scopes.EMAIL, Scopes.PROFILE])
    params = parse_qs(urlsplit(httpx.get(url, follow_redirects=False).headers["location"]).query)
    client.get_bearer_token(params["code"][0], realm_id=params["realmId"][0])
    assert client.id_token  # intuitlib only keeps it after checking signature, issuer, audience, expiry
    info = client.get_user_info().json()
    assert info["email"] == "noreply@sandbox-us.example"
    assert info["givenName"] == "Sandbox"
    assert info["sub"]


ROUND_TRIPPED = [
    "Account",
    "Bill",
    "BillPayment",
    "Customer",
    "Deposit",
    "Employee",
    "Estimate",
    "Invoice",
    "Item",
    "JournalEntry",
    "Payment",
    "PaymentMethod",
    "Purchase",
    "PurchaseOrder",
    "RefundReceipt",
    "SalesReceipt",
    "Term",
    "TimeActivity",
    "Transfer",
    "Vendor",
    "VendorCredit",
    "CreditMemo",
    "Department",
    "Class",
    "CreditCardPayment",
    "Attachable",
    "RecurringTransaction",
]


@pytest.mark.parametrize("name", ROUND_TRIPPED)
def test_python_quickbooks_saves_back_what_it_reads(qb: Any, name: str) -> None:
    """A client reads seeded records and saves them back unchanged (a full update with everything the
    emulator answered, plus the library's own defaults): nothing it sends may be refused."""
    import quickbooks.objects as objects
    from quickbooks.objects.creditcardpayment_entity import CreditCardPayment as CardPayment
    from quickbooks.objects.recurringtransaction import RecurringTransaction
    from quickbooks.objects.trackingclass import Class

    cls = {"Class": Class, "CreditCardPayment": CardPayment, "RecurringTransaction": RecurringTransaction}.get(
        name
    ) or getattr(objects, name)
    records = cls.all(max_results=3, qb=qb)
    assert records
    for record in records:
        saved = record.save(qb=qb)
        inner = getattr(saved, "Invoice", None) or getattr(saved, "Bill", None) or saved
        assert int(inner.SyncToken) >= 1
