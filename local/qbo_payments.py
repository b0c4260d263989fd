"""The one payment driver of the demo, the bench and the tests: payments recorded, edited, voided and
deleted in the QuickBooks emulator over HTTP as an accountant would (with the connection's own access
token), both sides read back (QuickBooks' payments and balance, Productive's mirrored payments), and
waiting for the mirror (polling while the stack's SQS pollers run, or draining the queue by hand).

Dates are the company's dates: `today()` is `QboEmulator.today(realm)`, the date QuickBooks gives a
payment without TxnDate, never the UTC date (docs/decisions/0009-sync-cutoff-in-utc-minus-12.md).

    PaymentDriver(stack, productive, connection_id, realm_id)   # a connection someone else set up
    PaymentDesk(stack, app, productive)                         # connects a subsidiary of its own"""

from __future__ import annotations

import importlib
import json
import time
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Self

import httpx

from local import browser

if TYPE_CHECKING:
    from local.app_client import AppClient
    from local.productive_emulator import ProductiveEmulator
    from local.productive_emulator.seed import DemoIds
    from local.qbo_emulator.webhooks import WebhookFormat
    from local.stack import LocalStack

# (QuickBooks invoice id, amount applied to it); for credits, (QuickBooks credit memo id, credit used)
Applied = tuple[str, Decimal | str]
# (amount, date) of one payment on one invoice, on either side
Paid = tuple[Decimal, date]


class PaymentDriver:
    """One connection's QuickBooks company, driven as its accountant, and the Productive invoices its
    copies came from."""

    def __init__(self, stack: LocalStack, productive: ProductiveEmulator, connection_id: str, realm_id: str) -> None:
        self.stack, self.productive = stack, productive
        self.cid, self.realm = connection_id, realm_id
        self.http = httpx.Client(base_url=f"{stack.emulator.base_url}/v3/company/{realm_id}", timeout=30)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def today(self) -> date:
        """Today in the QuickBooks company's time zone: QuickBooks dates (TxnDate) are company dates."""
        return self.stack.emulator.today(self.realm)

    # -- webhooks --------------------------------------------------------------------------------

    def webhooks_on(self, fmt: WebhookFormat = "cloudevents") -> None:
        self.stack.emulator.set_webhook(self.stack.client_id, f"{self.stack.api_url}/webhooks/intuit", format=fmt)

    def webhooks_off(self) -> None:
        self.stack.emulator.set_webhook(self.stack.client_id, None)

    # -- the accountant's writes, over HTTP ------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, **params: str) -> dict[str, Any]:
        """One Accounting API call with the connection's current access token; a 429 (10 requests a
        second per company) is waited out like an accountant would."""
        for _ in range(5):
            response = self.http.request(
                method,
                path,
                json=body,
                params={"minorversion": "75", **params},
                headers={"Authorization": f"Bearer {self._access_token()}", "Accept": "application/json"},
            )
            if response.status_code != 429:
                break
            time.sleep(1.1)
        if response.status_code != 200:
            raise RuntimeError(f"QuickBooks refused {method} {path}: {response.status_code} {response.text}")
        return dict(response.json())

    def _access_token(self) -> str:
        # The composition root the running handlers use (the gateway re-imports it on a cold start).
        return str(importlib.import_module("qbosync.wiring").token_service().access_token(self.cid))

    def pay(
        self,
        *applied: Applied,
        txn_date: date | str | None = None,
        total: Decimal | str | None = None,
        credits: tuple[Applied, ...] = (),
    ) -> str:
        """A payment of the first invoice's customer applied to `applied`, using the credit memos'
        `credits` (after the invoice lines); `total` (cash) above the invoices less the credits leaves
        the rest unapplied; no `txn_date`: QuickBooks dates it with the company's today. Returns its id."""
        invoice = self._required("Invoice", applied[0][0])
        body: dict[str, Any] = {
            "CustomerRef": {"value": invoice["CustomerRef"]["value"]},
            "TotalAmt": str(total if total is not None else _sum(applied) - _sum(credits)),
            "PaymentRefNum": "CHK-" + uuid.uuid4().hex[:4].upper(),
            "Line": _lines(applied) + _lines(credits, "CreditMemo"),
        }
        if txn_date:
            body["TxnDate"] = str(txn_date)
        return str(self.call("POST", "/payment", body)["Payment"]["Id"])

    def edit(
        self,
        payment_id: str,
        *applied: Applied,
        txn_date: date | str | None = None,
        total: Decimal | str | None = None,
        credits: tuple[Applied, ...] = (),
    ) -> None:
        """A sparse update: new lines (and total: the invoices less the credits, unless `total`) if
        `applied`, a new date if `txn_date`."""
        body: dict[str, Any] = {"Id": payment_id, "SyncToken": self._sync_token("Payment", payment_id), "sparse": True}
        if applied:
            body["Line"] = _lines(applied) + _lines(credits, "CreditMemo")
            body["TotalAmt"] = str(total if total is not None else _sum(applied) - _sum(credits))
        if txn_date:
            body["TxnDate"] = str(txn_date)
        self.call("POST", "/payment", body)

    def credit_memo(self, qbo_invoice_id: str, amount: Decimal | str) -> str:
        """A credit memo made in QuickBooks for the invoice's customer (not copied from Productive), of
        `amount` on the invoice's first item, tax exempt. Returns its id."""
        invoice = self._required("Invoice", qbo_invoice_id)
        item = next(
            line["SalesItemLineDetail"]["ItemRef"] for line in invoice["Line"] if line.get("SalesItemLineDetail")
        )
        line = {
            "DetailType": "SalesItemLineDetail",
            "Amount": str(amount),
            "SalesItemLineDetail": {"ItemRef": item, "Qty": 1, "UnitPrice": str(amount)},
        }
        body = {"CustomerRef": {"value": invoice["CustomerRef"]["value"]}, "Line": [line]}
        return str(self.call("POST", "/creditmemo", body)["CreditMemo"]["Id"])

    def reprice_invoice(self, qbo_invoice_id: str, unit_price: Decimal | str) -> None:
        """The accountant changes the first line's unit price (a sparse update of the lines)."""
        invoice = json.loads(json.dumps(self._required("Invoice", qbo_invoice_id), default=str))  # as sent over HTTP
        lines = [line for line in invoice["Line"] if line.get("DetailType") == "SalesItemLineDetail"]
        detail = dict(lines[0]["SalesItemLineDetail"])
        quantity = Decimal(str(detail.get("Qty", 1)))
        detail["UnitPrice"] = str(unit_price)
        lines[0] = {**lines[0], "Amount": str(quantity * Decimal(str(unit_price))), "SalesItemLineDetail": detail}
        body = {"Id": qbo_invoice_id, "SyncToken": self._sync_token("Invoice", qbo_invoice_id), "sparse": True}
        self.call("POST", "/invoice", {**body, "Line": lines})

    def redescribe_invoice(self, qbo_invoice_id: str, description: str) -> None:
        """The accountant rewrites the first line's description: the lines change, the total does not."""
        invoice = json.loads(json.dumps(self._required("Invoice", qbo_invoice_id), default=str))  # as sent over HTTP
        lines = [line for line in invoice["Line"] if line.get("DetailType") != "SubTotalLineDetail"]
        lines[0] = {**lines[0], "Description": description}
        body = {"Id": qbo_invoice_id, "SyncToken": self._sync_token("Invoice", qbo_invoice_id), "sparse": True}
        self.call("POST", "/invoice", {**body, "Line": lines})

    def delete_invoice(self, qbo_invoice_id: str) -> None:
        body = {"Id": qbo_invoice_id, "SyncToken": self._sync_token("Invoice", qbo_invoice_id)}
        self.call("POST", "/invoice", body, operation="delete")

    def void(self, payment_id: str) -> None:
        body = {"Id": payment_id, "SyncToken": self._sync_token("Payment", payment_id), "sparse": True}
        self.call("POST", "/payment", body, operation="update", include="void")

    def delete(self, payment_id: str) -> None:
        body = {"Id": payment_id, "SyncToken": self._sync_token("Payment", payment_id)}
        self.call("POST", "/payment", body, operation="delete")

    def void_invoice(self, qbo_invoice_id: str) -> None:
        body = {"Id": qbo_invoice_id, "SyncToken": self._sync_token("Invoice", qbo_invoice_id), "sparse": True}
        self.call("POST", "/invoice", body, operation="void")

    # -- reading both sides ----------------------------------------------------------------------

    def record(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        """An entity as the emulator stores it (None if there is none)."""
        found = self.stack.emulator.store.require(self.realm).get(entity, entity_id)
        return dict(found) if found is not None else None

    def _required(self, entity: str, entity_id: str) -> dict[str, Any]:
        found = self.record(entity, entity_id)
        if found is None:
            raise LookupError(f"no {entity} {entity_id} in QuickBooks")
        return found

    def _sync_token(self, entity: str, entity_id: str) -> str:
        return str(self._required(entity, entity_id)["SyncToken"])

    def balance(self, qbo_invoice_id: str) -> Decimal:
        return Decimal(str(self._required("Invoice", qbo_invoice_id)["Balance"]))

    def remaining_credit(self, credit_memo_id: str) -> Decimal:
        return Decimal(str(self._required("CreditMemo", credit_memo_id)["RemainingCredit"]))

    def cash_applied(self, qbo_invoice_ids: set[str]) -> Decimal:
        """QuickBooks' cash applied by the payments of these invoices: TotalAmt less UnappliedAmt."""
        return sum(
            (
                Decimal(str(payment.get("TotalAmt", 0))) - Decimal(str(payment.get("UnappliedAmt", 0)))
                for payment in self.stack.emulator.store.require(self.realm).all("Payment")
                if any(
                    linked.get("TxnType") == "Invoice" and str(linked.get("TxnId")) in qbo_invoice_ids
                    for line in payment.get("Line", [])
                    for linked in line.get("LinkedTxn", [])
                )
            ),
            Decimal(0),
        )

    def quickbooks_payments(self, qbo_invoice_id: str) -> list[Paid]:
        """What QuickBooks has applied to an invoice: (amount, TxnDate) per payment, sorted."""
        out = []
        for payment in self.stack.emulator.store.require(self.realm).all("Payment"):
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
                out.append((amount, date.fromisoformat(str(payment["TxnDate"])[:10])))
        return sorted(out)

    def mirrored(self, invoice_id: str) -> list[Paid]:
        """Productive's payments of an invoice: (amount, paid_on), sorted."""
        return sorted(
            (Decimal(str(p["amount"])), date.fromisoformat(str(p["paid_on"])[:10]))
            for p in self.productive.payments(invoice_id)
        )

    def unpaid(self, invoice_id: str) -> Decimal:
        return Decimal(str(self.productive.invoice(invoice_id)["amount_unpaid"]))

    def agree(self, invoice_id: str, qbo_invoice_id: str) -> bool:
        """Productive shows what QuickBooks holds: the same payments (amount and date) and amount unpaid."""
        same_payments = self.mirrored(invoice_id) == self.quickbooks_payments(qbo_invoice_id)
        return same_payments and self.unpaid(invoice_id) == self.balance(qbo_invoice_id)

    # -- waiting for the mirror ------------------------------------------------------------------

    def settle(self) -> int:
        """With the stack's SQS pollers stopped: the emulator's webhooks delivered, then the queue fed to
        payment_sync until empty. Returns the messages handled."""
        if not self.stack.emulator.webhooks.wait_idle(15):
            raise TimeoutError("the QuickBooks emulator's webhooks are still being delivered")
        return drain(self.stack)


class PaymentDesk(PaymentDriver):
    """A subsidiary of the Productive demo data connected to a QuickBooks company of the emulator (or a
    connection given), with payment sync switched on: what the demo's story, the model-based test, the
    time zone tests and the bench drive."""

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
        self.app = app
        self.demo = demo or productive.seed_demo()
        realm = realm_id or stack.emulator.US_REALM
        super().__init__(stack, productive, connection_id or self._connect(stack, realm), realm)
        settings = self.app.get(f"/connections/{self.cid}").json()["settings"]
        settings.pop("sync_payments_since", None)
        settings.update(sync_payments=True, default_item_id=settings.get("default_item_id") or "1")
        saved = self.app.put(f"/connections/{self.cid}/settings", settings)
        if saved.status_code != 200:
            raise RuntimeError(f"settings refused: {saved.text}")

    def _connect(self, stack: LocalStack, realm: str) -> str:
        subsidiary = self.demo.subsidiary_us_id if realm == stack.emulator.US_REALM else self.demo.subsidiary_uk_id
        started = self.app.post(
            "/connections",
            {
                "organization_id": self.demo.organization_id,
                "subsidiary_id": subsidiary,
                "productive_api_token": self.demo.api_token,
                "return_url": "https://app.productive.io/settings/integrations/quickbooks",
            },
        ).json()
        stack.emulator.next_consent(realm_id=realm)
        browser.consent(started["authorize_url"])
        return str(started["connection_id"])

    def copied_invoice(self, quantity: str = "10", unit_price: str = "150.00") -> tuple[str, str]:
        """A new Productive invoice (see `new_invoice`), copied: (Productive id, QuickBooks id)."""
        invoice_id = self.new_invoice(quantity, unit_price)
        response = self.app.post(f"/connections/{self.cid}/invoices/{invoice_id}/copies", {})
        if response.status_code != 201:
            raise RuntimeError(f"copy refused: {response.text}")
        return invoice_id, str(response.json()["quickbooks_invoice_id"])

    def new_invoice(self, quantity: str = "10", unit_price: str = "150.00") -> str:
        """A new Productive invoice of the demo's US customer (tax exempt, so both totals agree) dated the
        company's today, not copied yet: its id."""
        return str(
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


def _lines(applied: tuple[Applied, ...], txn_type: str = "Invoice") -> list[dict[str, Any]]:
    return [{"Amount": str(amount), "LinkedTxn": [{"TxnId": txn, "TxnType": txn_type}]} for txn, amount in applied]


def _sum(applied: tuple[Applied, ...]) -> Decimal:
    return sum((Decimal(str(amount)) for _, amount in applied), Decimal(0))


def wait_until(check: Callable[[], bool], timeout: float = 75.0) -> float:
    """Seconds until `check()` holds (raises after `timeout`), while the stack's SQS pollers run.
    Generous: an event that failed once under load comes back from the queue 30 s later
    (services/payment_sync.py RETRY_DELAY_SECONDS), and still arrives."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the change did not arrive in time")
        time.sleep(0.02)
    return time.perf_counter() - started


def drain(stack: LocalStack, rounds: int = 20) -> int:
    """With the stack's SQS pollers stopped: every queue fed to its function until nothing is visible,
    failed messages visible again at once (Lambda would wait for the visibility timeout). Returns the
    messages handled."""
    handled = 0
    for _ in range(rounds):
        pollers = stack.gateway.sqs_pollers(sqs_client=stack.aws.client("sqs"), failure_visibility_timeout=0)
        count = sum(poller.drain() for poller in pollers)
        handled += count
        if not count:
            break
    return handled
