"""The Productive emulator over HTTP: reading many records in a few requests (`filter[id]=a,b,c`,
`filter[invoice_id]=a,b,c`) through both kinds of pages, and the latency added to every answer (a
control setting and `--latency-ms` / PRODUCTIVE_EMULATOR_LATENCY_MS)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from local.productive_emulator import DemoIds, ProductiveEmulator
from local.productive_emulator.__main__ import LATENCY_VARIABLE, parse_args


def more_invoices(emu: ProductiveEmulator, demo: DemoIds, count: int, lines: int = 2) -> list[str]:
    return [
        emu.create_invoice(
            demo.organization_id,
            demo.company_acme_id,
            subsidiary_id=demo.subsidiary_us_id,
            line_items=[
                {
                    "description": f"Work {n}.{line}",
                    "quantity": "1",
                    "unit_price": "10",
                    "tax_rate_id": demo.tax_rate_us_exempt_id,
                }
                for line in range(lines)
            ],
        )
        for n in range(count)
    ]


def walk(api: httpx.Client, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every record of a list, following links.next; the requests it took are counted by the caller."""
    page = api.get(path, params=params)
    assert page.status_code == 200, page.text
    body = page.json()
    records = list(body["data"])
    while body["links"].get("next"):
        page = api.get(body["links"]["next"])
        assert page.status_code == 200, page.text
        body = page.json()
        records += body["data"]
    return records


@pytest.mark.parametrize("paging", [{"page[size]": "2"}, {"page[after]": "", "page[size]": "2"}])
def test_invoices_by_a_comma_list_of_ids_through_every_page(
    emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds, paging: dict[str, str]
) -> None:
    wanted = [*more_invoices(emu, demo, 4), demo.invoice_gbp_id]
    other = more_invoices(emu, demo, 1)[0]  # not asked for
    emu.reset_request_log()
    records = walk(api, "/invoices", {"filter[id]": ",".join(wanted), "include": "company", **paging})
    assert sorted(r["id"] for r in records) == sorted(wanted)
    assert other not in {r["id"] for r in records}
    assert emu.count_requests("GET", "/invoices") == 3  # 5 invoices, 2 a page
    # the list of ids travels in every page's link
    assert all(entry.query.get("filter[id]") == ",".join(wanted) for entry in emu.request_log)


def test_an_unknown_id_in_the_list_is_left_out(api: httpx.Client, demo: DemoIds) -> None:
    records = api.get("/invoices", params={"filter[id]": f"{demo.invoice_usd_id},999999"}).json()["data"]
    assert [r["id"] for r in records] == [demo.invoice_usd_id]


@pytest.mark.parametrize("paging", [{"page[size]": "3"}, {"page[after]": "", "page[size]": "3"}])
def test_line_items_of_a_comma_list_of_invoices_through_every_page(
    emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds, paging: dict[str, str]
) -> None:
    invoices = more_invoices(emu, demo, 3, lines=2)
    emu.reset_request_log()
    records = walk(api, "/line_items", {"filter[invoice_id]": ",".join(invoices), **paging})
    by_invoice: dict[str, int] = {}
    for record in records:
        invoice_id = record["relationships"]["invoice"]["data"]["id"]
        by_invoice[invoice_id] = by_invoice.get(invoice_id, 0) + 1
    assert by_invoice == dict.fromkeys(invoices, 2)
    assert emu.count_requests("GET", "/line_items") == 2  # 6 lines, 3 a page
    # and not the demo invoices' lines
    assert not {r["id"] for r in records} & set(demo.invoice_usd_line_item_ids)


def test_a_not_eq_comma_list_leaves_those_ids_out(emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds) -> None:
    kept = more_invoices(emu, demo, 1)[0]
    left_out = f"{demo.invoice_usd_id},{demo.invoice_gbp_id}"
    records = api.get("/invoices", params={"filter[id][not_eq]": left_out}).json()["data"]
    assert [r["id"] for r in records] == [kept]


# ---------------------------------------------------------------------------------------------- latency


def test_latency_delays_every_answer_errors_included(emu: ProductiveEmulator, api: httpx.Client) -> None:
    emu.faults.set_latency(0.3)
    for path in ("/service_types", "/invoices/999999", "/no_such_things"):
        started = time.monotonic()
        api.get(path)
        assert time.monotonic() - started >= 0.3, path
    started = time.monotonic()
    assert httpx.get(f"{emu.base_url}/service_types").status_code == 401  # no token
    assert time.monotonic() - started >= 0.3
    emu.faults.set_latency(0)


def test_latency_is_never_negative_and_clear_switches_it_off(emu: ProductiveEmulator) -> None:
    emu.faults.set_latency(-1)
    assert emu.faults.latency_seconds == 0
    emu.faults.set_latency(0.25)
    emu.faults.clear()
    assert emu.faults.latency_seconds == 0


def test_latency_flag_and_environment_variable() -> None:
    assert parse_args([], environ={}).latency_ms == 0
    assert parse_args([], environ={LATENCY_VARIABLE: "120"}).latency_ms == 120
    assert parse_args(["--latency-ms", "5"], environ={LATENCY_VARIABLE: "120"}).latency_ms == 5


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["--latency-ms", "-1"], {}, "'-1' is negative"),
        ([], {LATENCY_VARIABLE: "0.5"}, "'0.5' is not a whole number of milliseconds"),
    ],
)
def test_a_bad_latency_is_a_usage_error(
    argv: list[str], environ: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        parse_args(argv, environ=environ)
    assert refused.value.code == 2
    assert message in capsys.readouterr().err
