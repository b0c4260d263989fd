"""The payment story of issue 4, on the local stack, through the real path: a payment written to the
QuickBooks emulator over HTTP -> signed webhook -> payment_webhook -> SQS -> payment_sync -> the
Productive emulator; then lost webhooks repaired by reconcile (CDC -> the same queue).

    run_payment_story(stack, app, productive)            # connects a subsidiary of its own
    run_payment_story(stack, app, productive, connection_id=..., demo=...)   # or reuses one

The accountant's side and the readings of both sides are the shared driver, local/qbo_payments.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from local.qbo_payments import PaymentDesk, wait_until

if TYPE_CHECKING:
    from local.app_client import AppClient
    from local.productive_emulator import ProductiveEmulator
    from local.productive_emulator.seed import DemoIds
    from local.stack import LocalStack

WIDTH = 100


def run_payment_story(
    stack: LocalStack,
    app: AppClient,
    productive: ProductiveEmulator,
    *,
    connection_id: str | None = None,
    demo: DemoIds | None = None,
    first_step: int = 1,
    realm_id: str | None = None,
) -> int:
    """Print the payment story (in the emulator's US company unless `realm_id` names another); raises if
    Productive and QuickBooks ever disagree. Returns the number of the next step."""
    desk = PaymentDesk(stack, app, productive, demo=demo, connection_id=connection_id, realm_id=realm_id)
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
        arrive("edit", lambda: (Decimal("350.00"), desk.today()) in desk.mirrored(a))
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
    paid = ", ".join(f"{amount} on {day}" for amount, day in mirrored) or "none"
    agree = "agree" if desk.agree(invoice_id, qbo_invoice_id) else "DIFFER"
    print(
        f"  {label}: Productive payments [{paid}]  paid {invoice['amount_paid']}  unpaid {invoice['amount_unpaid']}"
        f"  | QuickBooks balance {desk.balance(qbo_invoice_id)}  ({agree})"
    )
    if agreed and agree != "agree":
        quickbooks = desk.quickbooks_payments(qbo_invoice_id)
        raise RuntimeError(f"{label}: Productive {mirrored} and QuickBooks {quickbooks} disagree")
