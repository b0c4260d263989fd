"""The companies' time zone: US Pacific unless set (QboEmulator(tz=...), --tz, QBO_EMULATOR_TZ). A
TxnDate left out is the company's date at that instant, timestamps are rendered in its zone, and
`emu.today(realm)` is the date tests compare with. The instants are chosen so the company's date and
the UTC date differ (05:50 and 23:30 UTC), and every expected date is written out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from local.qbo_emulator import QboEmulator
from local.qbo_emulator.__main__ import build, parse_args
from local.qbo_emulator.seed import build_realms
from tests.emulators.qbo.helpers import Api, connect

LINE = [
    {
        "DetailType": "SalesItemLineDetail",
        "Amount": "100.00",
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "TaxCodeRef": {"value": "NON"}},
    }
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@contextmanager
def company(zone: str | None, http: httpx.Client, frozen_at: str | None = None) -> Iterator[tuple[QboEmulator, Api]]:
    """An emulator whose companies are in `zone` (its clock stopped at `frozen_at` UTC, before the
    tokens are issued), and a client connected to the US one."""
    with QboEmulator(tz=zone) as emu:
        emu.set_throttling(enabled=False)
        if frozen_at is not None:
            emu.clock.freeze(at(frozen_at))
        yield emu, Api(http, emu, connect(http, emu, emu.US_REALM))


def invoice_and_payment(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """An invoice and a payment on it, both without a TxnDate: QuickBooks dates them."""
    created = api.post("invoice", {"CustomerRef": {"value": "1"}, "Line": LINE})
    assert created.status_code == 200, created.text
    invoice = created.json()["Invoice"]
    paid = api.post(
        "payment",
        {
            "CustomerRef": {"value": "1"},
            "TotalAmt": "100.00",
            "Line": [{"Amount": "100.00", "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert paid.status_code == 200, paid.text
    return dict(invoice), dict(paid.json()["Payment"])


@pytest.mark.parametrize(
    ("zone", "instant", "company_date", "local_stamp"),
    [
        # UTC+14: a day ahead of UTC from 10:00 UTC on.
        ("Pacific/Kiritimati", "2026-07-01T23:30:00", "2026-07-02", "2026-07-02T13:30:00+14:00"),
        ("Pacific/Kiritimati", "2026-07-01T05:50:00", "2026-07-01", "2026-07-01T19:50:00+14:00"),
        # UTC-11: a day behind UTC until 11:00 UTC.
        ("Pacific/Pago_Pago", "2026-07-01T05:50:00", "2026-06-30", "2026-06-30T18:50:00-11:00"),
        ("Pacific/Pago_Pago", "2026-07-01T23:30:00", "2026-07-01", "2026-07-01T12:30:00-11:00"),
        # The default, US Pacific (summer time): a day behind UTC until 07:00 UTC.
        (None, "2026-07-01T05:50:00", "2026-06-30", "2026-06-30T22:50:00-07:00"),
        (None, "2026-01-15T07:30:00", "2026-01-14", "2026-01-14T23:30:00-08:00"),
    ],
)
def test_a_txn_date_left_out_is_the_companys_date(
    http: httpx.Client, zone: str | None, instant: str, company_date: str, local_stamp: str
) -> None:
    with company(zone, http, instant) as (emu, us):
        assert emu.today(emu.US_REALM) == emu.today(emu.UK_REALM) == date.fromisoformat(company_date)
        invoice, payment = invoice_and_payment(us)
        assert invoice["TxnDate"] == payment["TxnDate"] == company_date
        assert invoice["MetaData"]["CreateTime"] == payment["MetaData"]["CreateTime"] == local_stamp
        # Dates sent are kept as they are: a date is a date, whatever the zone.
        sent = us.post(
            "payment", {"CustomerRef": {"value": "1"}, "TotalAmt": "1.00", "TxnDate": "2026-03-01", "Line": []}
        )
        assert sent.json()["Payment"]["TxnDate"] == "2026-03-01"


def test_companies_are_in_us_pacific_unless_told(http: httpx.Client) -> None:
    with company(None, http) as (emu, us):
        assert emu.timezone(emu.US_REALM) == emu.timezone(emu.UK_REALM) == "America/Los_Angeles"
        seeded = us.get(f"companyinfo/{emu.US_REALM}").json()["CompanyInfo"]["MetaData"]["CreateTime"]
        assert seeded[-6:] in ("-07:00", "-08:00")
    with company("Pacific/Kiritimati", http) as (emu, us):
        assert emu.timezone(emu.US_REALM) == emu.timezone(emu.UK_REALM) == "Pacific/Kiritimati"
        # The seed is rendered in the company's zone too.
        seeded = us.get(f"companyinfo/{emu.US_REALM}").json()["CompanyInfo"]["MetaData"]["CreateTime"]
        assert seeded.endswith("+14:00")


def test_set_timezone_moves_a_running_company(http: httpx.Client) -> None:
    with company(None, http, "2026-07-01T05:50:00") as (emu, us):
        assert emu.today(emu.US_REALM) == date(2026, 6, 30)
        emu.set_timezone(emu.US_REALM, "Pacific/Kiritimati")
        assert emu.timezone(emu.US_REALM) == "Pacific/Kiritimati"
        assert emu.timezone(emu.UK_REALM) == "America/Los_Angeles"  # one company at a time
        assert emu.today(emu.US_REALM) == date(2026, 7, 1)
        invoice, _ = invoice_and_payment(us)
        assert invoice["TxnDate"] == "2026-07-01"
        with pytest.raises(ValueError, match="unknown time zone"):
            emu.set_timezone(emu.US_REALM, "Mars/Olympus_Mons")
        assert emu.timezone(emu.US_REALM) == "Pacific/Kiritimati"
        emu.set_timezone(emu.US_REALM, None)
        assert emu.timezone(emu.US_REALM) == "America/Los_Angeles"
        with pytest.raises(KeyError):
            emu.today("404")


def test_unknown_zones_are_refused() -> None:
    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", "Pacific", "zone.tab", "/etc/localtime"):
        with pytest.raises(ValueError, match="unknown time zone"):
            QboEmulator(tz=bad)
        with pytest.raises(ValueError, match="unknown time zone"):
            build_realms(datetime.now(UTC), bad)


def test_cdc_compares_instants_whatever_the_offsets(http: httpx.Client) -> None:
    with company("Pacific/Kiritimati", http, "2026-07-01T23:30:00") as (_, us):
        invoice, _ = invoice_and_payment(us)
        assert invoice["MetaData"]["LastUpdatedTime"] == "2026-07-02T13:30:00+14:00"
        for since, found in (("2026-07-01T23:29:59Z", True), ("2026-07-01T23:30:01+00:00", False)):
            answer = us.get("cdc", entities="Invoice", changedSince=since)
            assert answer.status_code == 200, answer.text
            rows = answer.json()["CDCResponse"][0]["QueryResponse"][0].get("Invoice", [])
            assert (invoice["Id"] in [row["Id"] for row in rows]) is found, since
        assert answer.json()["time"].endswith("+14:00")


def test_the_command_line_takes_a_zone_or_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("QBO_EMULATOR_TZ", raising=False)
    assert build(parse_args([])).timezone(QboEmulator.US_REALM) == "America/Los_Angeles"
    emu = build(parse_args(["--port", "0", "--tz", "Pacific/Pago_Pago"]))
    assert emu.timezone(emu.US_REALM) == emu.timezone(emu.UK_REALM) == "Pacific/Pago_Pago"
    monkeypatch.setenv("QBO_EMULATOR_TZ", "Pacific/Kiritimati")
    assert build(parse_args([])).timezone(QboEmulator.US_REALM) == "Pacific/Kiritimati"
    assert build(parse_args(["--tz", "Europe/London"])).timezone(QboEmulator.UK_REALM) == "Europe/London"
    with pytest.raises(SystemExit) as refused:
        parse_args(["--tz", "Mars/Olympus_Mons"])
    assert refused.value.code == 2
    assert "unknown time zone 'Mars/Olympus_Mons'" in capsys.readouterr().err
    monkeypatch.setenv("QBO_EMULATOR_TZ", "Nowhere")
    with pytest.raises(SystemExit):
        parse_args([])
