"""The payment path for QuickBooks companies far from UTC, through the local stack: the emulator's US
company moved to UTC+14 (Pacific/Kiritimati) or UTC-11 (Pacific/Pago_Pago). Between them the two
zones have a date other than UTC's at every hour of the day, so these tests show at any hour that
dates mean the company's date: TxnDate, Productive's paid_on, and the tests' own expectations.

The clocks of both the emulator and the service are also moved to chosen hours (05:50 and 23:30 UTC),
where the expected dates are written out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from local.demo_payments import run_payment_story
from local.qbo_payments import PaymentDesk, wait_until

ZONES = ["Pacific/Kiritimati", "Pacific/Pago_Pago"]


@pytest.fixture
def company_zone(request: pytest.FixtureRequest, stack: Any) -> str:
    """A US company of its own in the zone the test is parametrized with: the story's reconcile sweeps
    only what this test did, not what every earlier test did to the shared company. Its realm id."""
    return str(stack.emulator.add_company("US", tz=request.param))


@contextmanager
def desk_for(stack: Any, app: Any, productive: Any, realm_id: str) -> Iterator[PaymentDesk]:
    """A subsidiary of its own connected to the company, payment sync switched on now, webhooks on."""
    desk = PaymentDesk(stack, app, productive, realm_id=realm_id)
    desk.webhooks_on()
    try:
        yield desk
    finally:
        desk.webhooks_off()
        # Disconnected, not only switched off: the shared company's events go to every connection to it.
        app.delete(f"/connections/{desk.cid}")
        desk.close()


@pytest.mark.parametrize("company_zone", ZONES, indirect=True)
def test_the_payment_story_in_a_company_far_from_utc(
    company_zone: str, stack: Any, app: Any, productive: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's payment story (partial, tranche, edit, two invoices, void, delete, lost webhooks then
    reconcile): it raises as soon as Productive and QuickBooks disagree, dates included, and it
    expects the edited payment on the company's date."""
    with desk_for(stack, app, productive, company_zone) as desk:
        run_payment_story(stack, app, productive, connection_id=desk.cid, demo=desk.demo, realm_id=company_zone)
        story = capsys.readouterr().out
    assert "-> caught up: in Productive after" in story
    assert "(DIFFER)" not in story.split("Productive is behind QuickBooks.")[1]


def latest(hour: int, minute: int) -> datetime:
    """The latest instant at hour:minute UTC that is not in the future."""
    now = datetime.now(UTC)
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at <= now else at - timedelta(days=1)


@contextmanager
def both_clocks_at(stack: Any, instant: datetime) -> Iterator[None]:
    """The emulator's clock and the service's clock moved together so that it is `instant` now; both
    keep running. App requests are still signed with real time, which the signature check uses."""
    seconds = (instant - datetime.now(UTC)).total_seconds()
    stack.emulator.clock.advance(seconds)
    stack.shift_service_clock(seconds=seconds)
    try:
        yield
    finally:
        stack.shift_service_clock_reset()
        stack.emulator.clock.advance(-seconds)


@pytest.mark.parametrize(
    ("company_zone", "hour", "minute", "days_from_utc_date"),
    [
        ("Pacific/Kiritimati", 5, 50, 0),
        ("Pacific/Kiritimati", 23, 30, 1),  # 13:30 the next day
        ("Pacific/Pago_Pago", 5, 50, -1),  # 18:50 the day before
        ("Pacific/Pago_Pago", 23, 30, 0),
        ("America/Los_Angeles", 5, 50, -1),  # the hour `make test` used to fail at
        ("America/Los_Angeles", 23, 30, 0),
    ],
    indirect=["company_zone"],
)
def test_dates_at_a_chosen_hour(
    company_zone: str, hour: int, minute: int, days_from_utc_date: int, stack: Any, app: Any, productive: Any
) -> None:
    """Sync switched on at hour:minute UTC; an invoice dated the company's today is copied, and paid
    with no TxnDate: QuickBooks dates the payment with the company's date, and so does Productive. At
    UTC-11 and 05:50 that date is the day before the UTC date of switching on: the payment is still
    ours (the cutoff is the earliest date anywhere at that instant)."""
    instant = latest(hour, minute)
    expected = instant.date() + timedelta(days=days_from_utc_date)
    with both_clocks_at(stack, instant), desk_for(stack, app, productive, company_zone) as desk:
        assert desk.today() == expected
        switched_on = app.get(f"/connections/{desk.cid}").json()["settings"]["sync_payments_since"]
        assert abs(datetime.fromisoformat(switched_on) - instant) < timedelta(minutes=5)
        invoice_id, qbo_id = desk.copied_invoice("2", "100.00")
        invoice = desk.record("Invoice", qbo_id)
        assert invoice is not None
        assert invoice["TxnDate"] == productive.invoice(invoice_id)["invoiced_on"] == expected.isoformat()
        payment_id = desk.pay((qbo_id, "60.00"))
        payment = desk.record("Payment", payment_id)
        assert payment is not None
        assert payment["TxnDate"] == expected.isoformat()
        wait_until(lambda: desk.mirrored(invoice_id) == [(Decimal("60.00"), expected)])
        assert desk.unpaid(invoice_id) == desk.balance(qbo_id) == Decimal("140.00")
