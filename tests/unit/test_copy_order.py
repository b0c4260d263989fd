"""The copy's order of work, with in-memory fakes that keep one journal of every call: all reads and
checks first, the lock as the first write, a customer created only once the invoice's references were
checked; a refusal undoes what the request wrote, a fault keeps what a retry needs."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from qbosync.domain.connection import CompanyProfile, ConnectionSecret, ConnectionSettings, TokenSet
from qbosync.domain.copies import CopyRequest
from qbosync.domain.errors import DomainError, NotFound, QuickBooksFault, UpstreamUnavailable
from qbosync.domain.productive import ProductiveCompany, ProductiveCustomField, ProductiveInvoice, ProductiveLineItem
from qbosync.services.copies import CopyService
from qbosync.services.tokens import TokenService
from tests.fakes import (
    FakeClock,
    InMemoryActivityLog,
    InMemoryCopies,
    InMemoryRepository,
    InMemoryVault,
    QuickBooksStub,
    StrictRotatingOAuth,
    connected,
)

REALM = "9130350000000001"
QBO_WRITES = ("qbo:create", "qbo:update", "qbo:upload_attachment")
PRODUCTIVE_WRITES = ("productive:update_invoice_export", "productive:attach_pdf_to_invoice")


def _fault(code: str, message: str = "refused") -> QuickBooksFault:
    return QuickBooksFault(message, fault_code=code, fault_type="ValidationFault", http_status=400)


class FakeQuickBooks(QuickBooksStub):
    """Just enough of QuickBooks for the copy: queries by name, id list, number and customer."""

    def __init__(self, journal: list[str]) -> None:
        self.journal = journal
        self.ids = itertools.count(100)
        self.customers: dict[str, dict[str, Any]] = {
            "1": {"Id": "1", "DisplayName": "Known Co", "Active": True, "SyncToken": "0"},
            "2": {"Id": "2", "DisplayName": "Sleepy Co", "Active": False, "SyncToken": "3"},
        }
        self.items = {"1": True, "2": True}  # id -> active
        self.tax_codes = {"3": ("20.0% S", True), "5": ("0.0% Z", True)}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.refuse_invoice: QuickBooksFault | None = None
        self.lose_invoice_answer = False
        self.answers: dict[str, dict[str, Any]] = {}  # requestid -> the first successful answer

    def query(self, statement: str) -> list[dict[str, Any]]:
        entity = re.search(r"from (\w+)", statement)
        assert entity is not None
        self.journal.append(f"qbo:query {entity.group(1)}")
        quoted = re.findall(r"'([^']*)'", statement)
        if entity.group(1) == "Customer":
            return [dict(c) for c in self.customers.values() if c["DisplayName"] == quoted[0]]
        if entity.group(1) == "Item":
            return [{"Id": i} for i in quoted if self.items.get(i)]
        if entity.group(1) == "TaxCode":
            wanted = quoted if " in " in statement.lower() else list(self.tax_codes)
            return [{"Id": i, "Name": self.tax_codes[i][0]} for i in wanted if self.tax_codes.get(i, ("", False))[1]]
        rows = list(self.invoices.values())
        if "DocNumber" in statement:
            return [dict(r) for r in rows if r.get("DocNumber") == quoted[0]]
        return [dict(r) for r in rows if r["CustomerRef"]["value"] == quoted[0]]

    def _meta(self) -> dict[str, str]:
        return {"CreateTime": "2026-11-01T05:00:00-07:00", "LastUpdatedTime": "2026-11-01T05:00:00-07:00"}

    def create(self, entity: str, payload: dict[str, Any], *, request_id: str) -> dict[str, Any]:
        self.journal.append(f"qbo:create {entity}")
        if request_id in self.answers:
            return dict(self.answers[request_id])
        if entity == "Customer":
            if any(c["DisplayName"] == payload["DisplayName"] for c in self.customers.values()):
                raise _fault("6240", "Duplicate Name Exists Error")
            record = {**payload, "Id": str(next(self.ids)), "Active": True, "SyncToken": "0", "MetaData": self._meta()}
            self.customers[record["Id"]] = record
        else:
            if self.refuse_invoice is not None:
                raise self.refuse_invoice
            if payload.get("DocNumber") and any(
                i.get("DocNumber") == payload["DocNumber"] for i in self.invoices.values()
            ):
                raise _fault("6140", "Duplicate Document Number Error")
            record = {**payload, "Id": str(next(self.ids)), "SyncToken": "0", "TotalAmt": Decimal("300.00")}
            self.invoices[record["Id"]] = record
        self.answers[request_id] = record
        if entity == "Invoice" and self.lose_invoice_answer:
            self.lose_invoice_answer = False
            raise UpstreamUnavailable("QuickBooks is not answering right now.", service="quickbooks")
        return dict(record)

    def update(
        self, entity: str, payload: dict[str, Any], *, request_id: str, operation: str | None = None
    ) -> dict[str, Any]:
        self.journal.append(f"qbo:update {entity}")
        store = self.customers if entity == "Customer" else self.invoices
        record = store[str(payload["Id"])]
        record.update({k: v for k, v in payload.items() if k not in {"sparse", "SyncToken"}})
        record["SyncToken"] = str(int(record["SyncToken"]) + 1)
        record["MetaData"] = self._meta()
        return dict(record)

    def get(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        self.journal.append(f"qbo:get {entity}")
        return self.invoices.get(entity_id)

    def download_pdf(self, entity: str, entity_id: str) -> bytes:
        self.journal.append("qbo:download_pdf")
        return b"%PDF-1.4"

    def upload_attachment(
        self, *, entity: str, entity_id: str, filename: str, content: bytes, content_type: str, request_id: str
    ) -> dict[str, Any]:
        self.journal.append("qbo:upload_attachment")
        return {}


class FakeProductive:
    def __init__(self, journal: list[str]) -> None:
        self.journal = journal
        self.invoices = {
            "41": ProductiveInvoice(
                id="41",
                number="2025-041",
                currency="USD",
                invoiced_on=date(2025, 5, 2),
                company_id="7",
                amount=Decimal("300"),
                amount_with_tax=Decimal("300"),
            )
        }
        self.lines = [
            ProductiveLineItem(
                id="1",
                invoice_id="41",
                description="Design",
                quantity=Decimal(2),
                unit_price=Decimal(150),
                service_type_id="s1",
            )
        ]
        self.companies = {"7": ProductiveCompany(id="7", name="Brand New Co")}

    def get_invoice(self, invoice_id: str) -> ProductiveInvoice:
        self.journal.append("productive:get_invoice")
        if invoice_id not in self.invoices:
            raise NotFound("no such invoice", code="invoice_not_found")
        return self.invoices[invoice_id]

    def list_line_items(self, invoice_id: str) -> list[ProductiveLineItem]:
        self.journal.append("productive:list_line_items")
        return list(self.lines)

    def get_company(self, company_id: str) -> ProductiveCompany:
        self.journal.append("productive:get_company")
        return self.companies[company_id]

    def get_custom_field(self, field_id: str) -> ProductiveCustomField:
        raise AssertionError("not used")

    def update_invoice_export(self, invoice_id: str, **fields: Any) -> None:
        self.journal.append("productive:update_invoice_export")

    def attach_pdf_to_invoice(self, invoice_id: str, filename: str, content: bytes) -> str:
        self.journal.append("productive:attach_pdf_to_invoice")
        return "a1"

    def download_invoice_pdf(self, invoice_id: str) -> bytes:
        self.journal.append("productive:download_invoice_pdf")
        return b"%PDF-1.4"


class World:
    def __init__(self, *, country: str = "US", currency: str = "USD", **settings: Any) -> None:
        self.journal: list[str] = []
        self.clock = FakeClock()
        repo = InMemoryRepository()
        vault = InMemoryVault()
        profile = CompanyProfile(REALM, "Co", country, currency, False, False, False, True)
        self.settings = ConnectionSettings(default_item_id="1", service_type_items={"s1": "2"}, **settings)
        repo.save(replace(connected("c1", clock=self.clock), company=profile, settings=self.settings))
        tokens = TokenSet("a", "r", self.clock.now() + timedelta(hours=1), self.clock.now() + timedelta(days=90))
        vault.write("c1", ConnectionSecret("pat", tokens))
        self.copies = InMemoryCopies(self.journal)
        self.qbo = FakeQuickBooks(self.journal)
        self.productive = FakeProductive(self.journal)
        self.activity = InMemoryActivityLog()
        self.service = CopyService(
            connections=repo,
            copies=self.copies,
            tokens=TokenService(repository=repo, vault=vault, oauth=StrictRotatingOAuth(self.clock), clock=self.clock),
            quickbooks=lambda realm, credentials: self.qbo,
            productive=lambda connection, token: self.productive,  # type: ignore[arg-type, return-value]
            clock=self.clock,
            quickbooks_app_url="https://app.qbo.example",
            activity=self.activity,
        )

    def copy(self, invoice_id: str = "41", **request: Any) -> Any:
        return self.service.copy(
            CopyRequest(
                connection_id="c1",
                invoice_id=invoice_id,
                customer_id=request.get("customer_id"),
                tax_code_id=request.get("tax_code_id"),
                mode=request.get("mode", "update"),
            )
        )

    def writes(self) -> list[str]:
        return [
            entry
            for entry in self.journal
            if entry in InMemoryCopies.WRITES or entry.startswith(QBO_WRITES) or entry.startswith(PRODUCTIVE_WRITES)
        ]

    def invoice(self, **changes: Any) -> None:
        self.productive.invoices["41"] = replace(self.productive.invoices["41"], **changes)


def test_every_read_and_check_comes_before_the_lock_and_the_customer_after_it() -> None:
    w = World()
    w.copy()
    lock = w.journal.index("ddb:lock")
    assert w.writes()[0] == "ddb:lock"
    assert w.copies.lock_calls == [w.clock.now()]  # the attempt is recorded by the lock's own write
    assert {"productive:get_invoice", "productive:list_line_items", "ddb:customer_for", "qbo:query Item"} <= set(
        w.journal[:lock]
    )
    writes = w.writes()
    assert writes[:3] == ["ddb:lock", "qbo:create Customer", "qbo:create Invoice"]
    # The PDF move and the write-back do not depend on each other: they run at once, in either order.
    assert sorted(writes[3:5]) == ["productive:attach_pdf_to_invoice", "productive:update_invoice_export"]
    assert writes[5:] == ["ddb:complete"]


def test_a_known_customer_costs_no_reference_check() -> None:
    w = World()
    w.copy()
    w.invoice(number="2025-042")
    w.journal.clear()
    w.copy(mode="create")
    assert not [entry for entry in w.journal if entry.startswith("qbo:query")]
    assert w.journal.count("ddb:lock") == 1


@pytest.mark.parametrize(
    ("arrange", "code"),
    [
        (lambda w: w.invoice(currency="GBP"), "currency_not_supported"),
        (lambda w: setattr(w.productive, "lines", []), "invoice_has_no_lines"),
        (lambda w: w.qbo.items.update({"2": False}), "quickbooks_item_unavailable"),
        (lambda w: w.invoice(company_id=None), "no_customer"),
        (lambda w: w.productive.companies.update({"7": ProductiveCompany(id="7", name="  ")}), "no_customer"),
    ],
)
def test_a_request_refused_by_a_check_writes_nothing(arrange: Any, code: str) -> None:
    w = World()
    arrange(w)
    with pytest.raises(DomainError) as refused:
        w.copy(mode="create")
    assert refused.value.code == code
    assert w.writes() == []
    assert w.copies.items() == 0
    assert len(w.qbo.customers) == 2


def test_an_update_without_a_client_company_keeps_the_last_copys_customer() -> None:
    w = World()
    first = w.copy()
    w.invoice(company_id=None)
    w.journal.clear()
    again = w.copy(mode="update")
    assert again.customer_id == first.customer_id
    assert [e for e in w.journal if "Customer" in e] == []


def test_a_first_update_without_a_client_company_is_refused_under_the_lock_and_leaves_nothing() -> None:
    w = World()
    w.invoice(company_id=None)
    with pytest.raises(DomainError) as refused:
        w.copy(mode="update")  # nothing copied yet: it becomes a create, which needs a customer
    assert refused.value.code == "no_customer"
    assert w.writes() == ["ddb:lock", "ddb:forget"]
    assert w.copies.items() == 0


def test_unmapped_service_type_without_default_item_writes_nothing() -> None:
    w = World()
    w.service._connections.update_settings("c1", ConnectionSettings(service_type_items={}), w.clock.now())
    with pytest.raises(DomainError, match="service type"):
        w.copy()
    assert w.writes() == []


def test_an_unknown_invoice_writes_nothing() -> None:
    w = World()
    with pytest.raises(NotFound):
        w.copy("999")
    assert w.writes() == []
    assert set(w.journal) <= {"productive:get_invoice", "productive:list_line_items"}  # read at once


def test_a_taken_number_is_found_before_a_customer_is_created() -> None:
    w = World(invoice_numbering="productive")
    w.qbo.invoices["9"] = {"Id": "9", "DocNumber": "2025-041", "CustomerRef": {"value": "1"}}
    with pytest.raises(DomainError) as refused:
        w.copy()
    assert refused.value.code == "duplicate_doc_number"
    assert w.writes() == []


def test_no_zero_rate_code_writes_nothing_and_a_found_one_is_saved_with_the_copy() -> None:
    w = World(country="GB", currency="GBP")
    w.invoice(currency="GBP")
    w.qbo.tax_codes["5"] = ("0.0% Z", False)
    with pytest.raises(DomainError) as refused:
        w.copy()
    assert refused.value.code == "tax_code_required"
    assert w.writes() == []
    w.qbo.tax_codes["5"] = ("0.0% Z", True)
    w.copy()
    assert w.copies.caches == {("c1", "zero_rate_tax_code"): "5"}
    assert w.writes()[-1] == "ddb:complete"  # the cache entry costs no write of its own


def test_a_held_lock_is_409_and_writes_nothing_of_its_own() -> None:
    w = World()
    w.copies.heads[("c1", "41")] = {"lock_owner": "other", "lock_until": w.clock.now() + timedelta(seconds=30)}
    with pytest.raises(DomainError) as refused:
        w.copy()
    assert refused.value.code == "copy_in_progress"
    assert w.copies.heads == {
        ("c1", "41"): {"lock_owner": "other", "lock_until": w.clock.now() + timedelta(seconds=30)}
    }
    assert [entry for entry in w.writes() if entry != "ddb:lock"] == []
    assert len(w.qbo.customers) == 2


def test_a_refused_invoice_takes_back_the_new_customer_the_attempt_and_the_head() -> None:
    w = World()
    w.qbo.refuse_invoice = _fault("6000", "Business Validation Error")
    with pytest.raises(QuickBooksFault):
        w.copy()
    [new] = [c for c in w.qbo.customers.values() if c["DisplayName"] == "Brand New Co"]
    assert new["Active"] is False
    assert w.copies.items() == 0
    assert w.writes() == ["ddb:lock", "qbo:create Customer", "qbo:create Invoice", "qbo:update Customer", "ddb:forget"]
    # Once QuickBooks takes the invoice, the next copy reactivates that customer: no second one.
    w.qbo.refuse_invoice = None
    w.copy()
    assert [c["Active"] for c in w.qbo.customers.values() if c["DisplayName"].startswith("Brand New Co")] == [True]


def test_a_reactivated_customer_goes_back_to_sleep_when_the_invoice_is_refused() -> None:
    w = World()
    w.productive.companies["7"] = ProductiveCompany(id="7", name="Sleepy Co")
    w.qbo.refuse_invoice = _fault("6000")
    with pytest.raises(QuickBooksFault):
        w.copy()
    assert w.qbo.customers["2"]["Active"] is False
    assert w.copies.items() == 0


def test_a_customer_someone_else_started_using_is_left_active() -> None:
    w = World()
    w.qbo.refuse_invoice = _fault("6000")
    original = w.qbo.query

    def query(statement: str) -> list[dict[str, Any]]:
        rows = original(statement)
        if "from Invoice where CustomerRef" in statement:  # another copy of this client used it
            return [{"Id": "77"}]
        return rows

    w.qbo.query = query  # type: ignore[method-assign]
    with pytest.raises(QuickBooksFault):
        w.copy()
    [new] = [c for c in w.qbo.customers.values() if c["DisplayName"] == "Brand New Co"]
    assert new["Active"] is True


def test_a_refused_update_keeps_the_copy_and_leaves_no_attempt() -> None:
    w = World()
    first = w.copy()
    w.qbo.invoices[first.quickbooks_id]["SyncToken"] = "0"
    original = w.qbo.update

    def refuse(
        entity: str, payload: dict[str, Any], *, request_id: str, operation: str | None = None
    ) -> dict[str, Any]:
        if entity == "Invoice":
            raise _fault("6000")
        return original(entity, payload, request_id=request_id, operation=operation)

    w.qbo.update = refuse  # type: ignore[method-assign]
    with pytest.raises(QuickBooksFault):
        w.copy(mode="update")
    assert w.copies.heads[("c1", "41")] == {"last_sequence": 1}


def test_a_lost_answer_keeps_the_attempt_and_the_customer_and_the_retry_finds_the_invoice() -> None:
    w = World()
    w.qbo.lose_invoice_answer = True
    with pytest.raises(UpstreamUnavailable):
        w.copy(mode="create")
    assert w.copies.heads[("c1", "41")]["pending_since"] == w.clock.now()
    assert "lock_owner" not in w.copies.heads[("c1", "41")]
    [new] = [c for c in w.qbo.customers.values() if c["DisplayName"] == "Brand New Co"]
    assert new["Active"] is True
    w.clock.advance(seconds=30)
    w.journal.clear()
    record = w.copy(mode="create")
    assert "qbo:create Invoice" not in w.journal  # found by its marker
    assert list(w.qbo.invoices) == [record.quickbooks_id]
    assert w.copies.heads[("c1", "41")] == {"last_sequence": 1}


def test_an_inherited_attempt_that_quickbooks_refuses_is_dropped() -> None:
    w = World()
    w.copies.heads[("c1", "41")] = {"pending_since": w.clock.now() - timedelta(minutes=2)}
    w.qbo.refuse_invoice = _fault("6000")
    with pytest.raises(QuickBooksFault):
        w.copy()
    assert w.copies.items() == 0


def test_an_inherited_attempt_survives_a_refusal_before_its_create_is_sent() -> None:
    w = World()
    w.copies.heads[("c1", "41")] = {"pending_since": w.clock.now() - timedelta(minutes=2)}
    # Every name is taken by a vendor: no customer, so no create; the earlier attempt may still exist.
    original = w.qbo.create

    def vendor_names(entity: str, payload: dict[str, Any], *, request_id: str) -> dict[str, Any]:
        if entity == "Customer":
            raise _fault("6240")
        return original(entity, payload, request_id=request_id)

    w.qbo.create = vendor_names  # type: ignore[method-assign]
    with pytest.raises(DomainError) as refused:
        w.copy()
    assert refused.value.code == "customer_name_taken"
    assert w.copies.heads[("c1", "41")] == {"pending_since": w.clock.now() - timedelta(minutes=2)}


def test_an_undo_that_fails_does_not_hide_the_refusal() -> None:
    w = World()
    w.qbo.refuse_invoice = _fault("6000")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("DynamoDB is down")

    w.copies.forget = broken  # type: ignore[method-assign]
    with pytest.raises(QuickBooksFault):
        w.copy()


# -- the activity log ------------------------------------------------------------------------------


def test_a_copy_and_its_update_are_logged_inside_the_write_that_completes_them() -> None:
    w = World()
    w.invoice(number="2025-041")
    first = w.copy()
    w.copy(mode="update")
    created, updated = w.copies.activities
    assert (created.kind, updated.kind) == ("copy_created", "copy_updated")
    assert created.invoice_id == updated.invoice_id == "41"
    assert created.details["quickbooks_id"] == first.quickbooks_id
    assert created.details["invoice_number"] == "2025-041"
    assert created.summary.startswith("Invoice 2025-041 copied to QuickBooks as invoice")
    assert w.activity.entries == []  # no write of their own
    assert w.writes().count("ddb:complete") == 2


def test_a_failed_copy_is_logged_with_quickbooks_own_code_and_text() -> None:
    w = World()
    w.qbo.refuse_invoice = _fault("6000", "Business Validation Error")
    with pytest.raises(QuickBooksFault):
        w.copy()
    [entry] = w.activity.entries
    assert (entry.kind, entry.invoice_id) == ("copy_failed", "41")
    assert entry.details["code"] == "quickbooks_6000"
    assert entry.details["message"] == "Business Validation Error"
    assert w.copies.activities == []


def test_a_copy_refused_by_our_checks_is_logged_but_a_held_lock_is_not() -> None:
    w = World()
    with pytest.raises(NotFound):
        w.copy("999")
    w.copies.heads[("c1", "41")] = {"lock_owner": "other", "lock_until": w.clock.now() + timedelta(seconds=30)}
    with pytest.raises(DomainError):
        w.copy()
    assert [(e.kind, e.invoice_id, e.details["code"]) for e in w.activity.entries] == [
        ("copy_failed", "999", "invoice_not_found")
    ]
