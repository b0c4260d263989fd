"""ProductiveClient against the running Productive emulator (real sockets)."""

from __future__ import annotations

import ast
import inspect
import io
import logging
import socket
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

import qbosync.domain.productive as domain_module
from local.productive_emulator import DemoIds, ProductiveEmulator
from qbosync.adapters.productive import ProductiveClient
from qbosync.domain.errors import NotFound, ProductiveError, UpstreamUnavailable
from qbosync.domain.productive import ProductiveAddress


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture(scope="module")
def emu() -> Iterator[ProductiveEmulator]:
    with ProductiveEmulator() as emulator:
        yield emulator


@pytest.fixture
def demo(emu: ProductiveEmulator) -> DemoIds:
    emu.set_rate_limit(enabled=True)
    emu.faults.clear()
    return emu.seed_demo()  # a fresh organization per test


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def client(emu: ProductiveEmulator, demo: DemoIds, sleeps: RecordingSleep) -> Iterator[ProductiveClient]:
    with ProductiveClient(emu.base_url, demo.api_token, demo.organization_id, sleep=sleeps) as c:
        yield c


def _assert_no_token(exc: BaseException, token: str) -> None:
    assert token not in str(exc)
    assert token not in repr(exc.args)
    assert token not in repr(getattr(exc, "details", {}))
    assert token not in repr(exc.__cause__)
    assert token not in repr(exc.__context__)


# ---------------------------------------------------------------------------------------------- reads


def test_get_invoice_maps_money_company_and_custom_fields(client: ProductiveClient, demo: DemoIds) -> None:
    invoice = client.get_invoice(demo.invoice_usd_id)
    assert client.calls == 1  # company and billing contact came through include=
    assert invoice.id == demo.invoice_usd_id
    assert invoice.number == "2025-041"
    assert invoice.subject == "Website redesign \u2013 March"
    assert invoice.purchase_order_number == "PO-7781"
    assert invoice.invoiced_on == date(2025, 3, 31)
    assert invoice.pay_on == date(2025, 4, 30)
    assert invoice.currency == "USD"
    assert invoice.discount == Decimal("10")
    assert invoice.amount == Decimal("5814.56")
    assert invoice.amount_tax == Decimal("472.11")
    assert invoice.amount_with_tax == Decimal("6286.67")
    assert invoice.amount_paid == Decimal("0.00")
    assert invoice.amount_unpaid == Decimal("6286.67")
    assert isinstance(invoice.amount, Decimal)
    assert invoice.exported is False
    assert invoice.export_id is None
    assert invoice.company_id == demo.company_acme_id
    assert invoice.subsidiary_id == demo.subsidiary_us_id
    assert invoice.custom_fields == {
        demo.custom_field_text_id: "ACME-WEB-2025",
        demo.custom_field_select_id: demo.custom_field_option_ids["North America"],
    }
    company = invoice.company
    assert company is not None
    assert company.display_name == "Acme & Sons, LLC"
    assert company.billing_email == "ap@acme-sons.example"
    assert company.billing_address == ProductiveAddress(
        address="500 Market Street, Suite 1200", city="San Francisco", state="CA", zipcode="94105", country="US"
    )


def test_get_invoice_without_bill_to_looks_up_the_billing_contact(
    emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds
) -> None:
    emu.update_record("invoices", demo.invoice_gbp_id, bill_to_id=None)
    invoice = client.get_invoice(demo.invoice_gbp_id)
    assert client.calls == 2
    assert invoice.company is not None
    assert invoice.company.name == "Café Zürich Ltd"
    assert invoice.company.default_currency == "GBP"
    assert invoice.company.billing_email == "accounts@cafe-zurich.example"
    assert invoice.company.billing_address.zipcode == "EC4Y 1AA"


def test_a_credit_note_and_its_parent(emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds) -> None:
    line = {"description": "Credit", "quantity": "2", "unit_price": "-25", "tax_rate_id": demo.tax_rate_us_exempt_id}
    note_id = emu.create_credit_note(demo.organization_id, demo.invoice_usd_id, line_items=[line])
    note = client.get_invoice(note_id)
    assert note.is_credit_note
    assert (note.invoice_type_id, note.invoice_type, note.parent_invoice_id) == (2, "credit_note", demo.invoice_usd_id)
    assert note.amount_with_tax == Decimal("-50.00")
    [item] = client.list_line_items(note_id)
    assert item.unit_price == Decimal("-25")
    parent = client.get_invoice(demo.invoice_usd_id)
    assert not parent.is_credit_note
    assert parent.parent_invoice_id is None
    assert (parent.amount_credited, parent.amount_credited_with_tax) == (Decimal("50.00"), Decimal("50.00"))
    assert parent.amount_unpaid == Decimal("6236.67")


def test_list_line_items(client: ProductiveClient, demo: DemoIds) -> None:
    items = client.list_line_items(demo.invoice_usd_id)
    assert [li.id for li in items] == demo.invoice_usd_line_item_ids
    design, development, consulting, hosting = items
    assert design.quantity == Decimal("12.5")
    assert design.unit_price == Decimal("120.00")
    assert design.service_type_id == demo.service_type_ids["Design"]
    assert design.service_type_name == "Design"
    assert design.tax_rate_id == demo.tax_rate_us_sales_id
    assert design.tax_rate_value == Decimal("8.875")
    assert development.discount == Decimal("5")
    assert development.amount == Decimal("4310.63")
    assert consulting.tax_rate_name == "Exempt"
    assert hosting.description == "Development \u2013 hosting setup"
    assert all(li.invoice_id == demo.invoice_usd_id for li in items)


def test_lists_follow_pagination(emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds) -> None:
    emu.set_rate_limit(enabled=False)
    for n in range(230):
        emu.create_line_item(
            demo.organization_id,
            demo.invoice_gbp_id,
            description=f"Line {n}",
            quantity="1",
            unit_price="1.00",
            tax_rate_id=demo.tax_rate_uk_zero_id,
            position=n + 3,
        )
    items = client.list_line_items(demo.invoice_gbp_id)
    assert len(items) == 232
    assert len({li.id for li in items}) == 232
    assert client.calls == 2  # 200 + 32


def test_get_invoices_reads_many_as_get_invoice_reads_one(
    emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds
) -> None:
    emu.update_record("invoices", demo.invoice_gbp_id, bill_to_id=None)  # its contact is looked up
    note = emu.create_credit_note(
        demo.organization_id,
        demo.invoice_usd_id,
        line_items=[
            {"description": "Credit", "quantity": "1", "unit_price": "-5", "tax_rate_id": demo.tax_rate_us_exempt_id}
        ],
    )
    wanted = [demo.invoice_usd_id, demo.invoice_gbp_id, note, "999999", demo.invoice_usd_id]
    emu.reset_request_log()
    invoices = client.get_invoices(wanted)
    assert client.calls == 2  # the invoices, then the contact entries of the one company without bill_to
    assert [entry.query.get("filter[id]") for entry in emu.request_log if entry.path.endswith("/invoices")] == [
        f"{demo.invoice_usd_id},{demo.invoice_gbp_id},{note},999999"
    ]
    assert set(invoices) == {demo.invoice_usd_id, demo.invoice_gbp_id, note}  # the unknown id is left out
    for invoice_id, invoice in invoices.items():
        assert invoice == client.get_invoice(invoice_id)
    gbp = invoices[demo.invoice_gbp_id]
    assert gbp.company is not None
    assert gbp.company.billing_email == "accounts@cafe-zurich.example"
    assert invoices[note].is_credit_note
    assert client.get_invoices([]) == {}


def test_list_line_items_of_invoices_groups_them_by_invoice(
    emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds
) -> None:
    empty = emu.create_invoice(demo.organization_id, demo.company_acme_id, subsidiary_id=demo.subsidiary_us_id)
    emu.reset_request_log()
    lines = client.list_line_items_of_invoices([demo.invoice_usd_id, empty, demo.invoice_gbp_id, "999999"])
    assert client.calls == 1
    assert [entry.query.get("filter[invoice_id]") for entry in emu.request_log] == [
        f"{demo.invoice_usd_id},{empty},{demo.invoice_gbp_id},999999"
    ]
    assert lines == {
        demo.invoice_usd_id: client.list_line_items(demo.invoice_usd_id),
        empty: [],
        demo.invoice_gbp_id: client.list_line_items(demo.invoice_gbp_id),
        "999999": [],
    }
    assert [li.id for li in lines[demo.invoice_usd_id]] == demo.invoice_usd_line_item_ids
    assert client.list_line_items_of_invoices([]) == {}


def test_projects_of_invoices_come_through_their_attributions_budgets_in_one_request(
    emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds
) -> None:
    org, acme = demo.organization_id, demo.company_acme_id
    website = emu.create_project(org, "Website", company_id=acme, project_number="P-1")
    support = emu.create_project(org, "Support", company_id=acme)
    phase_one = emu.create_budget(org, "Phase 1", company_id=acme, project_id=website)
    phase_two = emu.create_budget(org, "Phase 2", company_id=acme, project_id=website)
    retainer = emu.create_budget(org, "Retainer", company_id=acme, project_id=support)
    loose = emu.create_budget(org, "No project", company_id=acme, project_id=None)
    single = emu.create_invoice(org, acme, subsidiary_id=demo.subsidiary_us_id)
    for invoice, budget in (
        (demo.invoice_usd_id, phase_one),
        (demo.invoice_usd_id, retainer),
        (demo.invoice_usd_id, phase_two),  # the same project again: listed once
        (single, phase_two),
        (single, loose),  # a budget without a project adds none
    ):
        emu.attribute_invoice(org, invoice, budget)
    client.calls = 0
    projects = client.projects_of_invoices([demo.invoice_usd_id, single, demo.invoice_gbp_id])
    assert client.calls == 1
    assert {invoice: [p.name for p in found] for invoice, found in projects.items()} == {
        demo.invoice_usd_id: ["Website", "Support"],
        single: ["Website"],
        demo.invoice_gbp_id: [],
    }
    assert projects[single][0].id == website
    assert projects[single][0].project_number == "P-1"
    assert client.projects_of_invoices([]) == {}


def test_many_invoices_take_a_request_per_hundred_and_pages_are_followed(
    emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds
) -> None:
    emu.set_rate_limit(enabled=False)
    line = {"description": "Work", "quantity": "1", "unit_price": "10", "tax_rate_id": demo.tax_rate_us_exempt_id}
    invoice_ids = [
        emu.create_invoice(
            demo.organization_id, demo.company_acme_id, subsidiary_id=demo.subsidiary_us_id, line_items=[line] * 3
        )
        for _ in range(150)
    ]
    emu.reset_request_log()
    invoices = client.get_invoices(invoice_ids)
    assert list(invoices) == invoice_ids
    assert client.calls == 2  # 100 ids, then 50: each fits one page of 200; every one has its bill_to
    lines = client.list_line_items_of_invoices(invoice_ids)
    assert {invoice_id: len(found) for invoice_id, found in lines.items()} == dict.fromkeys(invoice_ids, 3)
    assert client.calls == 2 + 3  # 300 lines of the first 100 invoices on two pages, 150 on one
    assert max(len(entry.query.get("filter[invoice_id]", "").split(",")) for entry in emu.request_log) == 100


def test_get_company_and_custom_fields(client: ProductiveClient, demo: DemoIds) -> None:
    company = client.get_company(demo.company_cafe_id)
    assert company.name == "Café Zürich Ltd"
    assert company.display_name == "Café Zürich Ltd"
    assert company.vat == "GB123456789"
    assert company.billing_contact_id == demo.company_cafe_billing_contact_id
    assert company.billing_address.city == "London"

    region = client.get_custom_field(demo.custom_field_select_id)
    assert region.name == "Region"
    assert region.data_type == "select"
    assert [o.name for o in region.options] == ["North America", "Europe", "Asia Pacific"]
    assert region.display_value(demo.custom_field_option_ids["Europe"]) == "Europe"
    text = client.get_custom_field(demo.custom_field_text_id)
    assert text.data_type == "text"
    assert text.options == ()
    assert text.display_value("ACME-WEB-2025") == "ACME-WEB-2025"


# ---------------------------------------------------------------------------------------------- writes


def test_update_invoice_export(emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds) -> None:
    url = "https://app.sandbox.qbo.intuit.com/app/invoice?txnId=1875"
    updated = client.update_invoice_export(demo.invoice_usd_id, export_id="1875", export_invoice_url=url, number="1042")
    assert updated.exported is True
    assert updated.number == "1042"
    stored = emu.invoice(demo.invoice_usd_id)
    assert (stored["exported"], stored["export_id"], stored["export_invoice_url"], stored["number"]) == (
        True,
        "1875",
        url,
        "1042",
    )
    client.update_invoice_export(demo.invoice_gbp_id, export_id="9", export_invoice_url=url)
    assert emu.invoice(demo.invoice_gbp_id)["number"] == "UK-2025-007"
    patch = [e for e in emu.request_log if e.method == "PATCH"][-1]
    assert patch.headers["Content-Type"] == "application/vnd.api+json"


def test_pdf_download_and_attachment(emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds) -> None:
    pdf = client.download_invoice_pdf(demo.invoice_gbp_id)
    assert "UK-2025-007" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    attachment_id = client.attach_pdf_to_invoice(demo.invoice_usd_id, "INV-1042.pdf", pdf)
    stored = emu.attachments(demo.invoice_usd_id)
    assert [(a["id"], a["name"], a["content_type"], a["content"]) for a in stored] == [
        (attachment_id, "INV-1042.pdf", "application/pdf", pdf)
    ]


def test_payment_crud(emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds) -> None:
    payment = client.create_payment(demo.invoice_usd_id, Decimal("2500"), date(2025, 4, 12), "QBO payment 3321")
    assert payment.invoice_id == demo.invoice_usd_id
    assert payment.amount == Decimal("2500.00")
    assert payment.paid_on == date(2025, 4, 12)
    second = client.create_payment(demo.invoice_usd_id, Decimal("100.005"), date(2025, 4, 13), None)
    assert second.amount == Decimal("100.01")

    changed = client.update_payment(payment.id, Decimal("3786.66"), date(2025, 4, 14), "edited in QBO")
    assert (changed.amount, changed.paid_on, changed.note) == (Decimal("3786.66"), date(2025, 4, 14), "edited in QBO")
    listed = client.list_payments(demo.invoice_usd_id)
    assert [(p.id, p.amount) for p in listed] == [(payment.id, Decimal("3786.66")), (second.id, Decimal("100.01"))]
    assert client.get_invoice(demo.invoice_usd_id).amount_unpaid == Decimal("2400.00")

    client.delete_payment(payment.id)
    client.delete_payment(payment.id)  # already gone: fine
    assert [p["id"] for p in emu.payments(demo.invoice_usd_id)] == [second.id]


# ---------------------------------------------------------------------------------------------- errors


def test_not_found_mapping(client: ProductiveClient) -> None:
    with pytest.raises(NotFound) as invoice_missing:
        client.get_invoice("999999")
    assert invoice_missing.value.code == "invoice_not_found"
    assert invoice_missing.value.details == {"resource": "invoices", "id": "999999"}
    with pytest.raises(NotFound) as company_missing:
        client.get_company("999999")
    assert company_missing.value.code == "productive_not_found"
    with pytest.raises(NotFound) as payment_missing:
        client.update_payment("999999", Decimal(1), date(2025, 1, 1), None)
    assert payment_missing.value.code == "productive_not_found"
    assert payment_missing.value.message == "Productive payment 999999 was not found"
    with pytest.raises(ProductiveError) as unknown_invoice:  # a dangling relationship is a 422, not a 404
        client.create_payment("999999", Decimal(1), date(2025, 1, 1), None)
    assert unknown_invoice.value.http_status == 422


def test_unauthorized_and_forbidden_never_echo_the_token(emu: ProductiveEmulator, demo: DemoIds) -> None:
    wrong = "pat-wrong-0123456789abcdef"
    with ProductiveClient(emu.base_url, wrong, demo.organization_id) as bad, pytest.raises(ProductiveError) as info:
        bad.get_invoice(demo.invoice_usd_id)
    assert info.value.http_status == 401
    assert "token" in info.value.message
    _assert_no_token(info.value, wrong)

    _, other_token = emu.create_organization(name="Someone else")
    with (
        ProductiveClient(emu.base_url, other_token, demo.organization_id) as foreign,
        pytest.raises(ProductiveError) as forbidden,
    ):
        foreign.get_invoice(demo.invoice_usd_id)
    assert forbidden.value.http_status == 403
    _assert_no_token(forbidden.value, other_token)


def test_validation_error_carries_productive_detail(client: ProductiveClient, demo: DemoIds) -> None:
    with pytest.raises(ProductiveError) as info:
        client.create_payment(demo.invoice_usd_id, Decimal("0"), date(2025, 4, 1), None)
    assert info.value.http_status == 422
    assert "amount must not be zero" in info.value.message
    assert info.value.details["errors"][0]["source"] == {"pointer": "/data/attributes/amount"}
    _assert_no_token(info.value, demo.api_token)


# ---------------------------------------------------------------------------------------------- resilience


def test_rate_limit_backs_off_for_x_ratelimit_reset(emu: ProductiveEmulator, demo: DemoIds) -> None:
    emu.set_rate_limit(requests=2, window_seconds=1)
    waits: list[float] = []

    def real_sleep(seconds: float) -> None:
        waits.append(seconds)
        import time

        time.sleep(seconds)

    with ProductiveClient(emu.base_url, demo.api_token, demo.organization_id, sleep=real_sleep) as client:
        for _ in range(4):
            client.get_custom_field(demo.custom_field_text_id)
    assert waits
    assert all(w == 1.0 for w in waits)  # what X-RateLimit-Reset said
    assert client.calls == 4 + len(waits)
    assert sum(1 for e in emu.request_log if e.status == 429 and e.organization_id == demo.organization_id) == len(
        waits
    )


def test_rate_limit_gives_up_after_bounded_retries(
    emu: ProductiveEmulator, demo: DemoIds, sleeps: RecordingSleep
) -> None:
    emu.faults.fail_next(10, status=429, reset_seconds=2)
    with (
        ProductiveClient(emu.base_url, demo.api_token, demo.organization_id, sleep=sleeps, max_attempts=3) as client,
        pytest.raises(UpstreamUnavailable) as info,
    ):
        client.get_invoice(demo.invoice_usd_id)
    emu.faults.clear()
    assert client.calls == 3
    assert sleeps.waits == [2.0, 2.0]
    assert info.value.service == "productive"
    assert info.value.retry_after_seconds == 2
    _assert_no_token(info.value, demo.api_token)


def test_long_rate_limit_reset_is_not_slept_through(
    emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds, sleeps: RecordingSleep
) -> None:
    emu.set_rate_limit(requests=1, window_seconds=600)
    client.get_custom_field(demo.custom_field_text_id)
    with pytest.raises(UpstreamUnavailable) as info:
        client.get_custom_field(demo.custom_field_text_id)
    assert sleeps.waits == []
    assert info.value.retry_after_seconds is not None
    assert 590 <= info.value.retry_after_seconds <= 600


def test_server_errors_are_retried(
    emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds, sleeps: RecordingSleep
) -> None:
    emu.faults.fail_next(2, status=503)
    assert client.get_invoice(demo.invoice_usd_id).number == "2025-041"
    assert client.calls == 3
    assert len(sleeps.waits) == 2
    assert all(0 < w <= 4 for w in sleeps.waits)

    emu.faults.fail_next(10, status=500)
    with pytest.raises(UpstreamUnavailable) as info:
        client.list_payments(demo.invoice_usd_id)
    emu.faults.clear()
    assert info.value.details["productive_status"] == 500
    assert client.calls == 3 + 4


def test_post_is_retried_only_when_productive_surely_did_not_act(
    emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds
) -> None:
    emu.faults.fail_next(1, status=503, method="POST")
    client.create_payment(demo.invoice_usd_id, Decimal("10"), date(2025, 4, 1), None)
    assert client.calls == 2
    assert len(emu.payments(demo.invoice_usd_id)) == 1

    emu.faults.fail_next(1, status=500, method="POST")
    with pytest.raises(UpstreamUnavailable) as info:
        client.create_payment(demo.invoice_usd_id, Decimal("10"), date(2025, 4, 1), None)
    assert info.value.details["outcome_unknown"] is True
    assert client.calls == 3


def test_timeouts_are_retried(emu: ProductiveEmulator, demo: DemoIds, sleeps: RecordingSleep) -> None:
    emu.faults.delay_next(1, seconds=1.0, method="GET")
    with ProductiveClient(emu.base_url, demo.api_token, demo.organization_id, timeout=0.3, sleep=sleeps) as client:
        assert client.get_company(demo.company_acme_id).name == "Acme & Sons"
        assert client.calls == 3  # timed out, retried, then the contact entries
        emu.faults.delay_next(1, seconds=1.0, method="POST")
        with pytest.raises(UpstreamUnavailable) as info:
            client.create_payment(demo.invoice_usd_id, Decimal("5"), date(2025, 4, 1), "slow")
        assert info.value.details["outcome_unknown"] is True


def test_connection_refused_becomes_upstream_unavailable(demo: DemoIds, sleeps: RecordingSleep) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}/api/v2"
    with ProductiveClient(base, demo.api_token, demo.organization_id, sleep=sleeps) as client:
        with pytest.raises(UpstreamUnavailable) as info:
            client.get_invoice("1")
        assert client.calls == 4
    assert len(sleeps.waits) == 3
    _assert_no_token(info.value, demo.api_token)


def test_token_never_logged(
    emu: ProductiveEmulator, client: ProductiveClient, demo: DemoIds, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emu.faults.fail_next(2, status=503)
    client.get_invoice(demo.invoice_usd_id)
    client.delete_payment("999999")
    assert caplog.records
    assert demo.api_token not in caplog.text


def test_domain_module_is_pure() -> None:
    tree = ast.parse(inspect.getsource(domain_module))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(name=node.module or "")])
    }
    assert not imported & {"httpx", "boto3", "botocore", "os"}
    assert "environ" not in inspect.getsource(domain_module)
