"""QuickBooks dates are calendar dates in the company's time zone, which QuickBooks does not tell us.
Where the product meets them: the invoice dates it sends, the "dated before payment sync was switched
on" cutoff, and the reconcile window (instants, whatever offset QuickBooks renders them in)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import pytest

from qbosync.domain.connection import ConnectionSettings
from qbosync.domain.invoice_copy import SourceInvoice, SourceLine, TaxChoice, build_invoice
from qbosync.domain.payments import in_scope
from tests.unit.test_invoice_mapping import US
from tests.unit.test_reconcile import World as ReconcileWorld

ZONES = sorted(available_timezones())
# Switch-on instants every 30 minutes over days with daylight-saving changes north and south.
DAYS = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 4, 5, tzinfo=UTC))
INSTANTS = [day + timedelta(minutes=30 * n) for day in DAYS for n in range(48)]


def paid(on: date) -> dict[str, str]:
    return {"TxnDate": on.isoformat()}


def test_a_payment_dated_the_companys_date_at_switch_on_is_ours_in_every_zone() -> None:
    """Whatever the company's zone, a payment recorded right after switching on is dated that
    company's date at that instant, which is never before the cutoff."""
    assert {"Pacific/Kiritimati", "Pacific/Pago_Pago", "Etc/GMT+12"} <= set(ZONES)
    zones = [ZoneInfo(name) for name in ZONES]
    for since in INSTANTS:
        local_dates = {since.astimezone(zone).date() for zone in zones}
        for local in local_dates:
            assert in_scope(paid(local), since), (since, local)
        # The cutoff is the earliest date anywhere at that instant (UTC-12), not a day earlier ...
        earliest = min(local_dates)
        assert not in_scope(paid(earliest - timedelta(days=1)), since), since
        # ... and at the hours when the company's date and the UTC date differ, it is not the UTC date.
        if since.hour < 12:
            assert earliest < since.date()
            assert in_scope(paid(since.date() - timedelta(days=1)), since)


@pytest.mark.parametrize(
    ("since", "company_date", "zone"),
    [
        # Sync switched on at 05:50 UTC on July 1: it is still June 30 at UTC-11 ...
        ("2026-07-01T05:50:00+00:00", "2026-06-30", "Pacific/Pago_Pago"),
        ("2026-07-01T05:50:00+00:00", "2026-06-30", "America/Los_Angeles"),
        # ... and at 23:30 UTC it is already July 2 at UTC+14.
        ("2026-07-01T23:30:00+00:00", "2026-07-02", "Pacific/Kiritimati"),
    ],
)
def test_the_cutoff_at_hours_when_company_and_utc_dates_differ(since: str, company_date: str, zone: str) -> None:
    switched_on = datetime.fromisoformat(since)
    assert switched_on.astimezone(ZoneInfo(zone)).date().isoformat() == company_date
    assert in_scope({"TxnDate": company_date}, switched_on)
    assert not in_scope({"TxnDate": "2026-06-29"}, switched_on)
    assert not in_scope({"TxnDate": "not a date"}, switched_on)


def _source(invoiced_on: date | None, pay_on: date | None) -> SourceInvoice:
    line = SourceLine("Design", Decimal(1), Decimal(100), Decimal(0), None)
    return SourceInvoice(
        invoice_id="1",
        number=None,
        subject=None,
        note=None,
        po_number=None,
        invoiced_on=invoiced_on,
        pay_on=pay_on,
        currency="USD",
        discount_percent=Decimal(0),
        amount=Decimal(100),
        amount_with_tax=Decimal(100),
        lines=(line,),
    )


def _built(invoiced_on: date | None, pay_on: date | None) -> dict[str, Any]:
    return build_invoice(
        invoice=_source(invoiced_on, pay_on),
        settings=ConnectionSettings(default_item_id="1"),
        company=US,
        customer_id="1",
        tax=TaxChoice(None),
        memo=None,
        marker="m",
    )


def test_invoice_dates_are_productives_calendar_dates_unchanged() -> None:
    """Productive's invoice and due dates are dates, like QuickBooks': they go over as they are, with
    no time zone arithmetic; no date at all lets QuickBooks use the company's own today."""
    body = _built(date(2026, 12, 31), date(2027, 1, 30))
    assert (body["TxnDate"], body["DueDate"]) == ("2026-12-31", "2027-01-30")
    assert body["Line"][0]["SalesItemLineDetail"]["ServiceDate"] == "2026-12-31"
    bare = _built(None, None)
    assert "TxnDate" not in bare
    assert "DueDate" not in bare
    assert "ServiceDate" not in bare["Line"][0]["SalesItemLineDetail"]


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_reconcile_splits_a_full_answer_at_the_latest_instant_whatever_the_offset(zone: str) -> None:
    """CDC stamps come in the offset QuickBooks renders (the company's, in the emulator); the window
    is split at the latest change as an instant, so nothing between is skipped or read forever."""
    w = ReconcileWorld(cap=3)
    local = ZoneInfo(zone)
    stamps = [(w.since + timedelta(minutes=n)).astimezone(local) for n in range(1, 8)]
    for n, stamp in enumerate(stamps):
        w.qbo.change("Payment", str(n), stamp)
    assert w.qbo.rows["Payment"][0]["MetaData"]["LastUpdatedTime"].endswith(("+14:00", "-11:00"))
    report = w.service.run()
    assert {e.entity_id for e in w.queue.sent} == {str(n) for n in range(7)}
    payment_calls = [since for entities, since in w.qbo.calls if entities == ("Payment",)]
    assert payment_calls[:3] == [w.since, stamps[2], stamps[4]]
    assert report.swept[0].splits == 3
