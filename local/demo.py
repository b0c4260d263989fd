"""`make demo`: the whole story on the local stack, printed so a person can follow it.

Everything runs on this machine: moto server as AWS, the QuickBooks emulator as Intuit, and the
local gateway serving the template's HTTP routes with the real Lambda handlers."""

from __future__ import annotations

import json
import sys
import time
import warnings
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from local import browser
from local.app_client import AppClient
from local.demo_payments import run_payment_story
from local.productive_emulator import DemoIds, ProductiveEmulator
from local.stack import LocalStack

WIDTH = 100


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, WIDTH - len(text) - 4))


def show(label: str, value: Any) -> None:
    print(f"  {label:<26} {value}")


def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise SystemExit(f"unexpected HTTP {response.status_code}: {response.text}")
    return response.json() if response.content else {}


def until(moment: str | None) -> str:
    if not moment:
        return "-"
    delta = datetime.fromisoformat(moment) - datetime.now(UTC)
    days = delta.total_seconds() / 86400
    return f"{moment}  (in {days * 24:.1f} h)" if days < 2 else f"{moment}  (in {days:.0f} days)"


# The handlers' JSON logs go to stdout on Lambda; here they would drown the story (metrics are off on the
# local stack). Warnings too: a payment event still in flight when the story disconnects is skipped with a
# warning, by design.
QUIET = {"POWERTOOLS_LOG_LEVEL": "ERROR"}


def run() -> None:
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    with ProductiveEmulator() as productive:
        environment = {**QUIET, "PRODUCTIVE_API_BASE_URL": productive.base_url}
        with LocalStack(environment=environment) as stack, AppClient(stack.api_url, stack.signing_secret) as app:
            story(stack, app, productive)


def story(stack: LocalStack, app: AppClient, productive: ProductiveEmulator) -> None:
    demo = productive.seed_demo()
    heading("Local stack")
    show("API (local gateway)", stack.api_url)
    show("AWS (moto server)", stack.aws.endpoint_url)
    show("QuickBooks emulator", stack.emulator.base_url)
    show("QuickBooks companies' zone", stack.emulator.timezone(stack.emulator.US_REALM))
    show("Productive emulator", productive.base_url)

    heading(f"1. Productive asks to connect subsidiary {demo.subsidiary_us_id} of organization {demo.organization_id}")
    started = expect(
        app.post(
            "/connections",
            {
                "organization_id": demo.organization_id,
                "subsidiary_id": demo.subsidiary_us_id,
                "productive_api_token": demo.api_token,
                "return_url": f"https://app.productive.io/{demo.organization_id}/settings/integrations/quickbooks",
            },
        ),
        201,
    )
    connection_id = started["connection_id"]
    show("connection_id", connection_id)
    show("status", started["status"])
    authorize = urlsplit(started["authorize_url"])
    show("authorize URL", f"{authorize.scheme}://{authorize.netloc}{authorize.path}")
    for key, values in sorted(parse_qs(authorize.query).items()):
        show(f"  {key}", values[0] if key != "state" else values[0][:48] + "...")

    heading("2. The user consents at Intuit (the emulator approves) and comes back")
    stack.emulator.next_consent(realm_id=stack.emulator.US_REALM)
    with httpx.Client(follow_redirects=False, timeout=30) as user_browser:
        start = user_browser.get(started["authorize_url"])
        cookie = start.headers["set-cookie"].split(";")[0].split("=")[0]
        show("start page answers", f"{start.status_code}, sets cookie {cookie} (HttpOnly, SameSite=Lax)")
        consent = user_browser.get(start.headers["location"])
        callback = urlsplit(consent.headers["location"])
        show("Intuit redirects to", f"{callback.path}?code=...&state=...&realmId=...")
        back = user_browser.get(consent.headers["location"])
    show("callback answers", f"{back.status_code} -> {back.headers['location']}")

    heading("3. The connection")
    connection = expect(app.get(f"/connections/{connection_id}"), 200)
    for key in ("status", "realm_id", "company_name", "country", "home_currency"):
        show(key, connection[key])
    show("access token expires", until(connection["access_expires_at"]))
    show("refresh token expires", until(connection["refresh_expires_at"]))
    show("hard expiry (5 years)", until(connection["refresh_hard_expires_at"]))

    heading("4. QuickBooks look-ups for the copy dialog")
    items = expect(app.get(f"/connections/{connection_id}/quickbooks/items"), 200)["items"]
    show("items", ", ".join(f"{i['name']} (#{i['id']})" for i in items))
    codes = expect(app.get(f"/connections/{connection_id}/quickbooks/tax-codes"), 200)["items"]
    show("tax codes", ", ".join(f"{c['name']} (#{c['id']})" for c in codes))
    found = expect(app.get(f"/connections/{connection_id}/quickbooks/customers", params={"search": "O'Brien"}), 200)[
        "items"
    ]
    show("customers like O'Brien", ", ".join(c["name"] for c in found) or "-")

    heading("5. Settings saved and read back")
    item_ids = {item["name"]: item["id"] for item in items}
    services = demo.service_type_ids
    settings = {
        "invoice_numbering": "quickbooks",
        "pdf_source": "quickbooks",
        "sync_payments": True,
        "memo_source": "po_number",
        "default_item_id": item_ids["Services"],
        "service_type_items": {
            services["Design"]: item_ids["Design"],
            services["Development"]: item_ids["Development"],
        },
    }
    expect(app.put(f"/connections/{connection_id}/settings", settings), 200)
    saved = expect(app.get(f"/connections/{connection_id}"), 200)["settings"]
    print("  " + json.dumps(saved, sort_keys=True))
    refused = app.put(f"/connections/{connection_id}/settings", {"default_item_id": "999"})
    show("unknown item id", f"{refused.status_code} {refused.json()['error']['message']}")

    invoice_id = demo.invoice_usd_id
    heading(f"6. Copy to QuickBooks: USD invoice {productive.invoice(invoice_id)['number']} (tax code Mountain View)")
    show_productive_invoice(productive, invoice_id)
    tax_code_id = codes_by_name(codes)["Mountain View"]

    def copy_invoice(mode: str, key: str | None = None) -> dict[str, Any]:
        return expect(
            app.post(
                f"/connections/{connection_id}/invoices/{invoice_id}/copies",
                {"tax_code_id": tax_code_id, "mode": mode},
                headers={"Idempotency-Key": key} if key else None,
            ),
            201,
        )

    copy = copy_invoice("update", key="demo-copy-1")
    show_copy(copy)
    show_quickbooks_invoice(stack, stack.emulator.US_REALM, copy["quickbooks_invoice_id"])
    show_export_fields(productive, invoice_id)

    heading("7. The same request again (same Idempotency-Key): the first answer, nothing new")
    again = copy_invoice("update", key="demo-copy-1")
    show("same copy", again == copy)

    heading("8. The invoice changes in Productive; copy again with mode 'update'")
    first_line = demo.invoice_usd_line_item_ids[0]
    productive.update_record("line_items", first_line, quantity="14")
    show("line 1 quantity", "12.5 -> 14")
    updated = copy_invoice("update")
    show_copy(updated)

    heading("9. Copy once more with mode 'create': a second QuickBooks invoice")
    created = copy_invoice("create")
    show_copy(created)

    heading("10. Copy history (newest first)")
    for entry in expect(app.get(f"/connections/{connection_id}/invoices/{invoice_id}/copies"), 200)["items"]:
        print(
            f"  {entry['copy_id']:<10} QuickBooks #{entry['quickbooks_invoice_id']:<6} number {entry['doc_number']:<6}"
            f" {entry['total_amount']:>10} {entry['currency']}  mode {entry['mode']:<6} updated {entry['updated_at']}"
        )

    heading("11. A UK subsidiary: GBP invoice at 20% VAT, Productive numbers it, its PDF goes to QuickBooks")
    uk_id = connect_quietly(stack, app, demo.organization_id, demo.subsidiary_uk_id, demo.api_token)
    uk_items = {i["name"]: i["id"] for i in expect(app.get(f"/connections/{uk_id}/quickbooks/items"), 200)["items"]}
    expect(
        app.put(
            f"/connections/{uk_id}/settings",
            {
                "invoice_numbering": "productive",
                "pdf_source": "productive",
                "memo_source": "subject",
                "default_item_id": uk_items["Services"],
            },
        ),
        200,
    )
    show_productive_invoice(productive, demo.invoice_gbp_id)
    uk_codes = codes_by_name(expect(app.get(f"/connections/{uk_id}/quickbooks/tax-codes"), 200)["items"])
    uk_copy = expect(
        app.post(f"/connections/{uk_id}/invoices/{demo.invoice_gbp_id}/copies", {"tax_code_id": uk_codes["20.0% S"]}),
        201,
    )
    show_copy(uk_copy)
    show_quickbooks_invoice(stack, stack.emulator.UK_REALM, uk_copy["quickbooks_invoice_id"])
    attachables = [
        a
        for a in stack.emulator.store.require(stack.emulator.UK_REALM).all("Attachable")
        if any(ref["EntityRef"]["value"] == uk_copy["quickbooks_invoice_id"] for ref in a.get("AttachableRef", []))
    ]
    show("attached in QuickBooks", ", ".join(a["FileName"] for a in attachables))
    show_export_fields(productive, demo.invoice_gbp_id)

    bulk_copy_story(app, productive, connection_id=connection_id, demo=demo, step=12)

    step = run_payment_story(stack, app, productive, connection_id=connection_id, demo=demo, first_step=13)

    heading(f"{step}. Token refresh (the scheduled job, a day later)")
    before = connection["access_expires_at"]
    stack.shift_service_clock(hours=25)  # a day passes, for us and for Intuit
    stack.emulator.clock.advance(25 * 3600)
    summary = stack.run_schedule("TokenRefreshFunction")
    show("token_refresh run", summary)
    after = expect(app.get(f"/connections/{connection_id}"), 200)
    show("access expiry before", before)
    show("access expiry after", after["access_expires_at"])
    show("refresh expiry after", after["refresh_expires_at"])
    show("status", after["status"])
    show("health", after["health"])

    heading(f"{step + 1}. Disconnect")
    gone = app.delete(f"/connections/{connection_id}")
    show("DELETE /connections/{id}", gone.status_code)
    show("status", expect(app.get(f"/connections/{connection_id}"), 200)["status"])
    show("still connected at Intuit", stack.emulator.is_connected(stack.emulator.US_REALM, stack.client_id))
    show(
        "copy history kept",
        len(expect(app.get(f"/connections/{connection_id}/invoices/{invoice_id}/copies"), 200)["items"]),
    )

    activity_story(app, connection_id, invoice_id=invoice_id, step=step + 2)
    print("\nDemo finished.")


def activity_story(app: AppClient, connection_id: str, *, invoice_id: str, step: int) -> None:
    """The connection's activity log after the story: read page by page, counted by kind, the newest
    entries, one invoice's entries, and the bulk job's failed copy."""
    heading(f"{step}. The activity log: GET /connections/{{id}}/activity, newest first")
    entries: list[dict[str, Any]] = []
    pages, cursor = 0, None
    while True:
        query: dict[str, Any] = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        page = expect(app.get(f"/connections/{connection_id}/activity", params=query), 200)
        entries += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    show("entries", f"{len(entries)} in {pages} pages of at most 50")
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["kind"]] = counts.get(entry["kind"], 0) + 1
    show("by kind", ", ".join(f"{kind} {count}" for kind, count in counts.items()))
    for entry in entries[:6]:
        print(f"  {entry['at'][11:23]}  {entry['kind']:<22} {entry['summary'][: WIDTH - 40]}")
    one = expect(app.get(f"/connections/{connection_id}/activity", params={"invoice_id": invoice_id}), 200)["items"]
    show(f"invoice {invoice_id} only", ", ".join(entry["kind"] for entry in one))
    failed = expect(app.get(f"/connections/{connection_id}/activity", params={"kind": "copy_failed"}), 200)["items"]
    for entry in failed:
        show("copy_failed", f"{entry['details']['code']}: {entry['summary']}")


BULK_INVOICES = 50
#: The invoice of the bulk job that fails: in EUR, for a QuickBooks company that works only in USD.
BULK_FAILING_INDEX = 36
#: The demo gives up on the bulk job after this long (it takes a few seconds).
BULK_TIMEOUT_SECONDS = 120.0


def bulk_copy_story(
    app: AppClient, productive: ProductiveEmulator, *, connection_id: str, demo: DemoIds, step: int
) -> None:
    """One copy job of 50 invoices, worked by the CopyJobsFunction that the stack's SQS poller feeds
    in the background, while the demo polls the job and redraws one progress line in place."""
    services = demo.service_type_ids
    numbers: dict[str, str] = {}
    for index in range(BULK_INVOICES):
        service = ("Design", "Development")[index % 2]
        number = f"2025-{101 + index}"
        invoice_id = productive.create_invoice(
            demo.organization_id,
            demo.company_acme_id,
            currency="EUR" if index == BULK_FAILING_INDEX else "USD",
            subsidiary_id=demo.subsidiary_us_id,
            number=number,
            subject=f"Retainer, week {index + 1}",
            line_items=[
                {
                    "description": f"{service} \u2013 retainer week {index + 1}",
                    "quantity": str(4 + index % 9),
                    "unit_price": "120.00" if service == "Design" else "150.00",
                    "service_type_id": services[service],
                    "tax_rate_id": demo.tax_rate_us_exempt_id,
                }
            ],
        )
        numbers[str(invoice_id)] = number
    invoice_ids = list(numbers)
    failing = invoice_ids[BULK_FAILING_INDEX]

    heading(f"{step}. Bulk copy: {BULK_INVOICES} invoices in one job, worked in the background")
    show(
        "invoices in Productive",
        f"{numbers[invoice_ids[0]]} ... {numbers[invoice_ids[-1]]} (Acme & Sons, USD; {numbers[failing]} in EUR)",
    )
    accepted = expect(app.post(f"/connections/{connection_id}/copy-jobs", {"invoice_ids": invoice_ids}), 202)
    show("POST .../copy-jobs", f"202  job {accepted['job_id']}  {accepted['status']}  total {accepted['total']}")
    job = wait_for_job(app, connection_id, accepted["job_id"])

    created, finished = (datetime.fromisoformat(job[key]) for key in ("created_at", "finished_at"))
    show(
        "job summary",
        f"{job['status']}: {job['copied']} copied, {job['failed']} failed of {job['total']}"
        f" in {(finished - created).total_seconds():.1f} s (mode {job['mode']})",
    )
    [failed] = [item for item in job["items"] if item["status"] == "failed"]
    show("failed item", f"invoice {numbers[failed['invoice_id']]} (#{failed['invoice_id']})")
    show("  code", failed["error"]["code"])
    show("  message", failed["error"]["message"])
    copied = next(item for item in job["items"] if item["status"] == "copied")
    quickbooks_id = copied["copy"]["quickbooks_id"]
    export_id = productive.invoice(copied["invoice_id"])["export_id"]
    show(
        "copied item",
        f"invoice {numbers[copied['invoice_id']]}: QuickBooks invoice #{quickbooks_id},"
        f" Productive export_id {export_id}",
    )
    if str(export_id) != quickbooks_id:
        raise RuntimeError(f"invoice {copied['invoice_id']}: QuickBooks #{quickbooks_id}, export_id {export_id}")
    recent = expect(app.get(f"/connections/{connection_id}/copy-jobs"), 200)["items"]
    show("GET .../copy-jobs", f"recent jobs {len(recent)}, newest {recent[0]['job_id']} ({recent[0]['status']})")


def wait_for_job(app: AppClient, connection_id: str, job_id: str) -> dict[str, Any]:
    """Poll the job until it is done, redrawing its progress line; stops the demo after a timeout."""
    started = time.monotonic()
    shown = ""
    while True:
        job = expect(app.get(f"/connections/{connection_id}/copy-jobs/{job_id}"), 200)
        settled = job["copied"] + job["failed"]
        line = (
            f"\r  copying {settled:>3}/{job['total']}  copied {job['copied']:>3}  failed {job['failed']:>3}"
            f"  pending {job['pending']:>3}"
        )
        if line != shown:
            sys.stdout.write(line)
            sys.stdout.flush()
            shown = line
        if job["status"] == "done":
            print()
            return job
        if time.monotonic() - started > BULK_TIMEOUT_SECONDS:
            print()
            raise SystemExit(
                f"the copy job {job_id} did not finish within {BULK_TIMEOUT_SECONDS:.0f} s"
                f" (status {job['status']}, {settled} of {job['total']} settled)"
            )
        time.sleep(0.25)


def codes_by_name(codes: list[dict[str, Any]]) -> dict[str, str]:
    return {code["name"]: code["id"] for code in codes}


def connect_quietly(stack: LocalStack, app: AppClient, organization_id: str, subsidiary_id: str, token: str) -> str:
    started = expect(
        app.post(
            "/connections",
            {
                "organization_id": organization_id,
                "subsidiary_id": subsidiary_id,
                "productive_api_token": token,
                "return_url": "https://app.productive.io/settings/integrations/quickbooks",
            },
        ),
        201,
    )
    stack.emulator.next_consent(realm_id=stack.emulator.UK_REALM)
    back = browser.consent(started["authorize_url"])
    show("connected", f"{back.headers['location'].split('?')[1]} (Sandbox Company UK)")
    return str(started["connection_id"])


def show_productive_invoice(productive: ProductiveEmulator, invoice_id: str) -> None:
    invoice = productive.invoice(invoice_id)
    print(
        f"  In Productive: invoice {invoice['number']}  {invoice['currency']}  discount {invoice.get('discount') or 0}%"
        f"  PO {invoice.get('purchase_order_number') or '-'}"
    )
    for line in productive.line_items(invoice_id):
        print(
            f"    {line['description'][:44]:<44} {line['quantity']:>6} x {line['unit_price']:>8}"
            f"  disc {line.get('discount') or 0:>3}%"
        )
    totals = f"net {invoice['amount']}  tax {invoice['amount_tax']}  total {invoice['amount_with_tax']}"
    print(f"    {totals} {invoice['currency']}")


def show_copy(copy: dict[str, Any]) -> None:
    show("copy", f"{copy['copy_id']} ({copy['mode']}) -> QuickBooks invoice #{copy['quickbooks_invoice_id']}")
    show("number", copy["doc_number"])
    show("total in QuickBooks", f"{copy['total_amount']} {copy['currency']}")
    show("view in QuickBooks", copy["quickbooks_url"])
    for warning in copy["warnings"]:
        show(f"warning {warning['code']}", warning["message"])


def show_quickbooks_invoice(stack: LocalStack, realm_id: str, invoice_id: str) -> None:
    realm = stack.emulator.store.require(realm_id)
    invoice = realm.get("Invoice", invoice_id) or {}
    customer = realm.get("Customer", invoice["CustomerRef"]["value"]) or {}
    print(
        f"  In QuickBooks: invoice {invoice.get('DocNumber')}  customer {customer.get('DisplayName')!r}"
        f"  {invoice.get('CurrencyRef', {}).get('value', '')}  memo {invoice.get('CustomerMemo', {}).get('value')!r}"
    )
    for line in invoice.get("Line", []):
        kind = line["DetailType"]
        if kind == "SalesItemLineDetail":
            detail = line["SalesItemLineDetail"]
            tax_code = detail.get("TaxCodeRef", {}).get("value")
            print(
                f"    {line.get('Description', '')[:44]:<44} {detail['Qty']:>6} x {detail['UnitPrice']:>8}"
                f" = {line['Amount']:>9}  item #{detail['ItemRef']['value']}  tax {tax_code}"
            )
        elif kind == "DiscountLineDetail":
            label = f"discount {line['DiscountLineDetail'].get('DiscountPercent', '')}%"
            print(f"    {label:<44} {-line['Amount']:>30}")
    tax = invoice.get("TxnTaxDetail", {})
    print(f"    tax {tax.get('TotalTax')}  total {invoice.get('TotalAmt')}  balance {invoice.get('Balance')}")


def show_export_fields(productive: ProductiveEmulator, invoice_id: str) -> None:
    invoice = productive.invoice(invoice_id)
    show("Productive export fields", f"exported={invoice['exported']} export_id={invoice['export_id']}")
    show("  export_invoice_url", invoice["export_invoice_url"])
    show("  number in Productive", invoice["number"])
    attachments = productive.attachments(invoice_id)
    if attachments:
        show("  attached PDF", ", ".join(a.get("name") or a.get("filename") or "pdf" for a in attachments))


def main() -> int:
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
