"""`seed_demo`: one organization with the data the QuickBooks copy needs, US and UK flavoured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local.productive_emulator.emulator import ProductiveEmulator


@dataclass(frozen=True)
class DemoIds:
    organization_id: str
    api_token: str
    subsidiary_us_id: str
    subsidiary_uk_id: str
    company_acme_id: str
    company_acme_billing_contact_id: str
    company_cafe_id: str
    company_cafe_billing_contact_id: str
    service_type_ids: dict[str, str]  # "Design" / "Development" / "Consulting" -> id
    tax_rate_us_sales_id: str  # 8.875 % in two components (4 % state + 4.875 % city)
    tax_rate_us_exempt_id: str  # 0 %
    tax_rate_uk_vat_id: str  # 20 %
    tax_rate_uk_zero_id: str  # 0 %
    custom_field_text_id: str  # "Project code" (text) on invoices
    custom_field_select_id: str  # "Region" (select) on invoices
    custom_field_option_ids: dict[str, str]  # option name -> id of "Region"
    invoice_usd_id: str
    invoice_gbp_id: str
    invoice_usd_line_item_ids: list[str] = field(default_factory=list)
    invoice_gbp_line_item_ids: list[str] = field(default_factory=list)


def seed_demo(emu: ProductiveEmulator) -> DemoIds:
    org_id, token = emu.create_organization(name="Northwind Studio")
    us = emu.create_subsidiary(org_id, "Northwind Studio Inc.", invoice_number_format="{YYYY}-{NNN}")
    uk = emu.create_subsidiary(org_id, "Northwind Studio Ltd", invoice_number_format="UK-{YYYY}-{NNN}")

    us_sales = emu.create_tax_rate(
        org_id,
        us,
        "NY Sales Tax",
        "4",
        primary_component_name="State",
        secondary_component_name="City",
        secondary_component_value="4.875",
    )
    us_exempt = emu.create_tax_rate(org_id, us, "Exempt", "0")
    uk_vat = emu.create_tax_rate(org_id, uk, "VAT 20%", "20", primary_component_name="VAT")
    uk_zero = emu.create_tax_rate(org_id, uk, "Zero rated", "0", primary_component_name="VAT")

    services = {name: emu.create_service_type(org_id, name) for name in ("Design", "Development", "Consulting")}

    project_code = emu.create_custom_field(org_id, "Project code", data_type="text")
    region = emu.create_custom_field(
        org_id, "Region", data_type="select", options=("North America", "Europe", "Asia Pacific")
    )
    options = emu.option_ids(region)

    acme = emu.create_company(
        org_id,
        "Acme & Sons",
        billing_name="Acme & Sons, LLC",
        default_currency="USD",
        company_code="ACME",
        default_subsidiary_id=us,
        billing_contact={
            "name": "Accounts Payable",
            "email": "ap@acme-sons.example",
            "billing_email": "ap@acme-sons.example",
            "address": "500 Market Street, Suite 1200",
            "city": "San Francisco",
            "state": "CA",
            "zipcode": "94105",
            "country": "US",
        },
    )
    cafe = emu.create_company(
        org_id,
        "Café Zürich Ltd",
        default_currency="GBP",
        vat="GB123456789",
        default_subsidiary_id=uk,
        billing_contact={
            "name": "Finance",
            "email": "accounts@cafe-zurich.example",
            "billing_email": "accounts@cafe-zurich.example",
            "address": "12 Fleet Street",
            "city": "London",
            "zipcode": "EC4Y 1AA",
            "country": "GB",
        },
    )

    usd = emu.create_invoice(
        org_id,
        acme,
        currency="USD",
        subsidiary_id=us,
        number="2025-041",
        subject="Website redesign \u2013 March",
        note="Thank you for your business! Payment by ACH within 30 days.",
        purchase_order_number="PO-7781",
        invoiced_on="2025-03-31",
        pay_on="2025-04-30",
        discount="10",
        custom_fields={project_code: "ACME-WEB-2025", region: options["North America"]},
        line_items=[
            {
                "description": "Design \u2013 homepage and style guide",
                "quantity": "12.5",
                "unit_price": "120.00",
                "service_type_id": services["Design"],
                "tax_rate_id": us_sales,
            },
            {
                "description": "Development \u2013 CMS integration",
                "quantity": "30.25",
                "unit_price": "150.00",
                "discount": "5",
                "service_type_id": services["Development"],
                "tax_rate_id": us_sales,
            },
            {
                "description": "Consulting \u2013 launch workshop",
                "quantity": "2.75",
                "unit_price": "200.00",
                "service_type_id": services["Consulting"],
                "tax_rate_id": us_exempt,
            },
            {
                "description": "Development \u2013 hosting setup",
                "quantity": "1",
                "unit_price": "99.99",
                "service_type_id": services["Development"],
                "tax_rate_id": us_sales,
            },
        ],
    )
    gbp = emu.create_invoice(
        org_id,
        cafe,
        currency="GBP",
        subsidiary_id=uk,
        number="UK-2025-007",
        subject="Brand workshop",
        invoiced_on="2025-04-02",
        pay_on="2025-05-02",
        custom_fields={region: options["Europe"]},
        line_items=[
            {
                "description": "Consulting \u2013 brand workshop",
                "quantity": "1.5",
                "unit_price": "850.00",
                "service_type_id": services["Consulting"],
                "tax_rate_id": uk_vat,
            },
            {
                "description": "Design \u2013 menu layouts",
                "quantity": "7.25",
                "unit_price": "95.50",
                "service_type_id": services["Design"],
                "tax_rate_id": uk_vat,
            },
        ],
    )
    return DemoIds(
        organization_id=org_id,
        api_token=token,
        subsidiary_us_id=us,
        subsidiary_uk_id=uk,
        company_acme_id=acme,
        company_acme_billing_contact_id=emu.billing_contact_id(acme) or "",
        company_cafe_id=cafe,
        company_cafe_billing_contact_id=emu.billing_contact_id(cafe) or "",
        service_type_ids=services,
        tax_rate_us_sales_id=us_sales,
        tax_rate_us_exempt_id=us_exempt,
        tax_rate_uk_vat_id=uk_vat,
        tax_rate_uk_zero_id=uk_zero,
        custom_field_text_id=project_code,
        custom_field_select_id=region,
        custom_field_option_ids=options,
        invoice_usd_id=usd,
        invoice_gbp_id=gbp,
        invoice_usd_line_item_ids=[li["id"] for li in emu.line_items(usd)],
        invoice_gbp_line_item_ids=[li["id"] for li in emu.line_items(gbp)],
    )
