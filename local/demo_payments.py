"""The payment story of issue 4, on the local stack, through the real path: a payment written to the
QuickBooks emulator over HTTP -> signed webhook -> payment_webhook -> SQS -> payment_sync -> the
Productive emulator; then lost webhooks repaired by reconcile (CDC -> the same queue).

    run_payment_story(stack, app, productive)            # connects a subsidiary of its own
    run_payment_story(stack, app, productive, connection_id=..., demo=...)   # or reuses one

`PaymentDesk` is the toolkit the story, the model-based test and the bench share: one connected
subsidiary with payment sync on, copied invoices, QuickBooks payment writes, and the two sides read
back (Productive's payments next to QuickBooks' balance)."""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from local import browser

if TYPE_CHECKING:
    from local.app_client import AppClient
    from local.productive_emulator import ProductiveEmulator
    from local.productive_emulator.seed import DemoIds
    from local.stack import LocalStack

WIDTH = 100


class PaymentDesk:
    def __init__(
        self,
        stack: LocalStack,
        app: AppClient,
        productive: ProductiveEmulator,
        *,
        demo: DemoIds | None = None,
        connection_id: str | None = None,
        realm_id: str | None = None,
    ) -> None:
        self.stack, self.app, self.productive = stack, app, productive
        self.demo = demo or productive.seed_demo()
        self.realm = realm_id or stack.emulator.US_REALM
        self.cid = connection_id or self._connect()
        settings = self.app.get(f"/connections/{self.cid}").json()["settings"]
        settings.pop("sync_payments_since", None)
        settings.update(sync_payments=True, default_item_id=settings.get("default_item_id") or "1")
        saved = self.app.put(f"/connections/{self.cid}/settings", settings)
        if saved.status_code != 200:
            raise RuntimeError(f"settings refused: {saved.text}")
        self.http = httpx.Client(base_url=f"{stack.emulator.base_url}/v3/company/{self.realm}", timeout=30)
        self.quickbooks_writes = 0

    def close(self) -> None:
        self.http.close()

    def today(self) -> date:
        """Today in the QuickBooks company's time zone: QuickBooks dates (TxnDate) are company dates."""
        return self.stack.emulator.today(self.realm)

    def _connect(self) -> str:
        subsidiary = (
            self.demo.subsidiary_us_id if self.realm == self.stack.emulator.US_REALM else self.demo.subsidiary_uk_id
        )
        started = self.app.post(
            "/connections",
            {
                "organization_id": self.demo.organization_id,
                "subsidiary_id": subsidiary,
                "productive_api_token": self.demo.api_token,
                "return_url": "https://app.productive.io/settings/integrations/quickbooks",
            },
        ).json()
        self.stack.emulator.next_consent(realm_id=self.realm)
        browser.consent(started["authorize_url"])
        return str(started["connection_id"])

    # -- webhooks --------------------------------------------------------------------------------

    def webhooks_on(self, fmt: str = "cloudevents") -> None:
        self.stack.emulator.set_webhook(self.stack.client_id, f"{self.stack.api_url}/webhooks/intuit", format=fmt)  # type: ignore[arg-type]

    def webhooks_off(self) -> None:
        self.stack.emulator.set_webhook(self.stack.client_id, None)

    # -- Productive invoices copied to QuickBooks ------------------------------------------------

    def copied_invoice(self, quantity: str = "10", unit_price: str = "150.00") -> tuple[str, str]:
        """A new Productive invoice (tax exempt, so both totals agree) copied: (Productive id, QuickBooks id)."""
        invoice_id = str(
            self.productive.create_invoice(
                self.demo.organization_id,
                self.demo.company_acme_id,
                currency="USD",
                subsidiary_id=self.demo.subsidiary_us_id,
                invoiced_on=self.today().isoformat(),
                line_items=[
                    {
                        "description": "Design sprint",
                        "quantity": quantity,
                        "unit_price": unit_price,
                        "service_type_id": self.demo.service_type_ids["Design"],
                        "tax_rate_id": self.demo.tax_rate_us_exempt_id,
                    }
                ],
            )
        )
        response = self.app.post(f"/connections/{self.cid}/invoices/{invoice_id}/copies", {})
        if response.status_code != 201:
            raise RuntimeError(f"copy refused: {response.text}")
        return invoice_id, str(response.json()["quickbooks_invoice_id"])

    # -- QuickBooks payments over HTTP -----------------------------------------------------------

    def access_token(self) -> str:
        return str(importlib.import_module("qbosync.wiring").token_service().access_token(self.cid))

    def call(self, method: str, path: str, body: Any = None, **params: str) -> dict[str, Any]:
        for _ in range(5):
            response = self.http.request(
                method,
                path,
                json=body,
                params={"minorversion": "75", **params},
                headers={"Authorization": f"Bearer {self.access_token()}", "Accept": "application/json"},
            )
            if response.status_code != 429:  # 10 requests a second per company: the accountant waits
                break
            time.sleep(1.1)
        if response.status_code != 200:
            raise RuntimeError(f"QuickBooks refused {method} {path}: {response.text}")
        self.quickbooks_writes += method == "POST"
        return dict(response.json())

    def record(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        found = self.stack.emulator.store.require(self.realm).get(entity, entity_id)
        return dict(found) if found is not None else None

    @staticmethod
    def _lines(applied: tuple[tuple[str, Decimal | str], ...]) -> list[dict[str, Any]]:
        return [{"Amount": str(amount), "LinkedTxn": [{"TxnId": txn, "TxnType": "Invoice"}]} for txn, amount in applied]

    def pay(
        self, *applied: tuple[str, Decimal | str], txn_date: str | None = None, total: Decimal | str | None = None
    ) -> str:
        invoice = self.record("Invoice", applied[0][0])
        assert invoice is not None
        body: dict[str, Any] = {
            "CustomerRef": {"value": invoice["CustomerRef"]["value"]},
            "TotalAmt": str(total if total is not None else sum((Decimal(str(a)) for _, a in applied), Decimal(0))),
            "PaymentRefNum": "CHK-" + uuid.uuid4().hex[:4].upper(),
            "Line": self._lines(applied),
        }
        if txn_date:
            body["TxnDate"] = txn_date
        return str(self.call("POST", "/payment", body)["Payment"]["Id"])

    def edit(self, payment_id: str, *applied: tuple[str, Decimal | str], txn_date: str | None = None) -> None:
        current = self.record("Payment", payment_id)
        assert current is not None
        body: dict[str, Any] = {"Id": payment_id, "SyncToken": current["SyncToken"], "sparse": True}
        if applied:
            body["Line"] = self._lines(applied)
            body["TotalAmt"] = str(sum((Decimal(str(a)) for _, a in applied), Decimal(0)))
        if txn_date:
            body["TxnDate"] = txn_date
        self.call("POST", "/payment", body)

    def void(self, payment_id: str) -> None:
        current = self.record("Payment", payment_id)
        assert current is not None
        body = {"Id": payment_id, "SyncToken": current["SyncToken"], "sparse": True}
        self.call("POST", "/payment", body, operation="update", include="void")

    def delete(self, payment_id: str) -> None:
        current = self.record("Payment", payment_id)
        assert current is not None
        self.call("POST", "/payment", {"Id": payment_id, "SyncToken": current["SyncToken"]}, operation="delete")

    # -- reading both sides ----------------------------------------------------------------------

    def balance(self, qbo_invoice_id: str) -> Decimal:
        invoice = self.record("Invoice", qbo_invoice_id)
        assert invoice is not None
        return Decimal(str(invoice["Balance"]))

    def mirrored(self, invoice_id: str) -> list[tuple[Decimal, str]]:
        """Productive's payments of an invoice: (amount, paid_on), sorted."""
        return sorted((Decimal(str(p["amount"])), str(p["paid_on"])[:10]) for p in self.productive.payments(invoice_id))

    def unpaid(self, invoice_id: str) -> Decimal:
        return Decimal(str(self.productive.invoice(invoice_id)["amount_unpaid"]))

    def quickbooks_payments(self, qbo_invoice_id: str) -> list[tuple[Decimal, str]]:
        """What QuickBooks has applied to an invoice: (amount, TxnDate) per payment, sorted."""
        realm = self.stack.emulator.store.require(self.realm)
        out = []
        for payment in realm.all("Payment"):
            amount = sum(
                (
                    Decimal(str(line.get("Amount", 0)))
                    for line in payment.get("Line", [])
                    for linked in line.get("LinkedTxn", [])
                    if linked.get("TxnType") == "Invoice" and str(linked.get("TxnId")) == qbo_invoice_id
                ),
                Decimal(0),
            )
            if amount > 0:
                out.append((amount, str(payment.get("TxnDate"))[:10]))
        return sorted(out)


def wait_until(check: Callable[[], bool], timeout: float = 75.0) -> float:
    """Seconds until `check()` holds (raises after `timeout`). Generous: an event that failed once under load
    comes back from the queue 30 s later (services/payment_sync.py RETRY_DELAY_SECONDS), and still arrives."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the change did not arrive in time")
        time.sleep(0.02)
    return time.perf_counter() - started


def run_payment_story(
    stack: LocalStack,
    app: AppClient,
    productive: ProductiveEmulator,
    *,
    connection_id: str | None = None,
    demo: DemoIds | None = None,
    first_step: int = 1,
) -> int:
    """Print the payment story; raises if Productive and QuickBooks ever disagree. Returns the
    number of the next step."""
    desk = PaymentDesk(stack, app, productive, demo=demo, connection_id=connection_id)
    desk.webhooks_on("cloudevents")
    step = iter(range(first_step, first_step + 100))
    try:
        a, qa = desk.copied_invoice("10", "150.00")
        b, qb = desk.copied_invoice("4", "125.00")
        _heading(f"{next(step)}. Payment sync on; two invoices copied to QuickBooks (webhooks in CloudEvents format)")
        _both(desk, "invoice A", a, qa)
        _both(desk, "invoice B", b, qb)

        def arrive(label: str, check: Callable[[], bool], path: str = "webhook -> SQS -> payment_sync") -> None:
            seconds = wait_until(check)
            print(f"  -> {label}: in Productive after {seconds:.2f} s ({path})")

        _heading(f"{next(step)}. A partial payment of 400.00 on invoice A")
        first = desk.pay((qa, "400.00"))
        arrive("partial", lambda: len(desk.mirrored(a)) == 1)
        _both(desk, "invoice A", a, qa)

        _heading(f"{next(step)}. A second tranche of 1100.00 pays invoice A off")
        desk.pay((qa, "1100.00"))
        arrive("tranche", lambda: len(desk.mirrored(a)) == 2)
        _both(desk, "invoice A", a, qa)

        _heading(f"{next(step)}. The accountant edits the first payment: 350.00 instead of 400.00")
        desk.edit(first, (qa, "350.00"))
        arrive("edit", lambda: (Decimal("350.00"), desk.today().isoformat()) in desk.mirrored(a))
        _both(desk, "invoice A", a, qa)

        _heading(f"{next(step)}. One payment of 550.00: 50.00 to invoice A, 500.00 to invoice B")
        both = desk.pay((qa, "50.00"), (qb, "500.00"))
        arrive("two invoices", lambda: len(desk.mirrored(a)) == 3 and len(desk.mirrored(b)) == 1)
        _both(desk, "invoice A", a, qa)
        _both(desk, "invoice B", b, qb)

        _heading(f"{next(step)}. That payment is voided in QuickBooks")
        desk.void(both)
        arrive("void", lambda: len(desk.mirrored(a)) == 2 and desk.mirrored(b) == [])
        _both(desk, "invoice A", a, qa)
        _both(desk, "invoice B", b, qb)

        _heading(f"{next(step)}. The first payment is deleted in QuickBooks")
        desk.delete(first)
        arrive("delete", lambda: len(desk.mirrored(a)) == 1)
        _both(desk, "invoice A", a, qa)

        _heading(f"{next(step)}. Webhooks are lost for a while (subscription down); three changes meanwhile")
        desk.webhooks_off()
        desk.pay((qb, "120.00"))
        late = desk.pay((qb, "80.00"))
        desk.edit(late, (qb, "75.00"))
        time.sleep(0.5)
        _both(desk, "invoice B", b, qb, agreed=False)
        print("  Productive is behind QuickBooks.")

        _heading(f"{next(step)}. reconcile runs (Change Data Capture since its cursor) and catches up")
        result = stack.run_schedule("ReconcileFunction")
        print(f"  reconcile: {result}")
        arrive("caught up", lambda: len(desk.mirrored(b)) == 2, "CDC -> SQS -> payment_sync")
        _both(desk, "invoice A", a, qa)
        _both(desk, "invoice B", b, qb)
        return next(step)
    finally:
        desk.webhooks_off()
        desk.close()


def _heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, WIDTH - len(text) - 4))


def _both(desk: PaymentDesk, label: str, invoice_id: str, qbo_invoice_id: str, *, agreed: bool = True) -> None:
    invoice = desk.productive.invoice(invoice_id)
    mirrored = desk.mirrored(invoice_id)
    quickbooks = desk.quickbooks_payments(qbo_invoice_id)
    paid = ", ".join(f"{amount} on {day}" for amount, day in mirrored) or "none"
    balance = desk.balance(qbo_invoice_id)
    agree = "agree" if mirrored == quickbooks and Decimal(str(invoice["amount_unpaid"])) == balance else "DIFFER"
    print(
        f"  {label}: Productive payments [{paid}]  paid {invoice['amount_paid']}  unpaid {invoice['amount_unpaid']}"
        f"  | QuickBooks balance {balance}  ({agree})"
    )
    if agreed and agree != "agree":
        raise RuntimeError(f"{label}: Productive {mirrored} and QuickBooks {quickbooks} disagree")
