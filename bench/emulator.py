"""The QuickBooks emulator's own throughput, in requests per second: an invoice create, a read by id
(GET invoice/{id}) and a query (select * from Invoice where CustomerRef = '1' maxresults 10, over the
invoices the creates left), from one client and from 4 at once, each a keep-alive HTTP client.

The emulator runs as shipped, in a process of its own (``python -m local.qbo_emulator``) with its
throttles off and no added latency: what is measured is its cost, not Intuit's limits. Target: at least
10x Intuit's limit of 10 requests per second per company and app (docs/architecture.md, "QuickBooks
writes, errors and limits"), so that the emulator is never what slows a client down where Intuit would
not."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from local.qbo_emulator.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URI
from local.qbo_emulator.process import emulator_process

ROOT = Path(__file__).resolve().parent.parent
INTUIT_LIMIT = 10.0  # requests per second per company and app
TARGET_RATIO = 10.0
REQUESTS = {"create": 400, "read": 600, "query": 400}  # per run, split between the clients
CLIENTS = (1, 4)
LINE = [
    {
        "DetailType": "SalesItemLineDetail",
        "Amount": "100.00",
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "TaxCodeRef": {"value": "NON"}},
    }
]


@contextmanager
def emulator() -> Iterator[str]:
    """The emulator's base URL, in a process of its own."""
    with emulator_process(["--port", "0", "--throttle", "off", "--latency-ms", "0"]) as (_, base):
        yield base


def access_token(base: str) -> tuple[str, str]:
    """Connect the default app to the US company (the emulator's OAuth flow); the token and realm."""
    with httpx.Client(timeout=30) as http:
        consent = http.get(
            f"{base}/connect/oauth2",
            params={
                "client_id": DEFAULT_CLIENT_ID,
                "redirect_uri": DEFAULT_REDIRECT_URI,
                "scope": "com.intuit.quickbooks.accounting",
                "response_type": "code",
                "state": "bench",
            },
        )
        callback = parse_qs(urlsplit(consent.headers["location"]).query)
        code = callback["code"][0]
        token = http.post(
            f"{base}/oauth2/v1/tokens/bearer",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": DEFAULT_REDIRECT_URI},
            auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        )
        token.raise_for_status()
        return str(token.json()["access_token"]), callback["realmId"][0]


def throughput(clients: int, requests: int, send: Callable[[httpx.Client], httpx.Response]) -> float:
    """Requests per second for ``requests`` requests split between ``clients`` concurrent clients."""
    each = requests // clients
    failures: list[str] = []
    start = threading.Barrier(clients + 1)

    def work() -> None:
        with httpx.Client(timeout=30) as http:
            send(http)  # a warm connection before the clock starts
            start.wait()
            for _ in range(each):
                response = send(http)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return each * clients / elapsed


def run() -> list[str]:
    lines = [
        "QuickBooks emulator throughput (as shipped, own process, throttles off, no added latency; "
        f"target >= {TARGET_RATIO:.0f}x Intuit's {INTUIT_LIMIT:.0f} requests/s per company and app)"
    ]
    with emulator() as base:
        token, realm = access_token(base)
        api = f"{base}/v3/company/{realm}"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        params = {"minorversion": "75"}
        with httpx.Client(timeout=30) as http:
            created = http.post(
                f"{api}/invoice", params=params, headers=headers, json={"CustomerRef": {"value": "1"}, "Line": LINE}
            )
            created.raise_for_status()
            invoice_id = created.json()["Invoice"]["Id"]

        def read(http: httpx.Client) -> httpx.Response:
            return http.get(f"{api}/invoice/{invoice_id}", params=params, headers=headers)

        def query(http: httpx.Client) -> httpx.Response:
            text = "select * from Invoice where CustomerRef = '1' maxresults 10"
            return http.get(f"{api}/query", params={**params, "query": text}, headers=headers)

        def create(http: httpx.Client) -> httpx.Response:
            body = {"CustomerRef": {"value": "1"}, "Line": LINE}
            return http.post(f"{api}/invoice", params=params, headers=headers, json=body)

        kinds: dict[str, tuple[str, Callable[[httpx.Client], httpx.Response]]] = {
            "create": ("POST invoice (create)", create),
            "read": ("GET invoice/{id}", read),
            "query": ("query, 10 of ~800 invoices", query),
        }
        worst = float("inf")
        for kind, (label, send) in kinds.items():
            for clients in CLIENTS:
                rate = throughput(clients, REQUESTS[kind], send)
                ratio = rate / INTUIT_LIMIT
                worst = min(worst, ratio)
                verdict = "ok" if ratio >= TARGET_RATIO else "UNDER TARGET"
                lines.append(
                    f"  {label:<28} {clients} client{'s' if clients > 1 else ' '}  {rate:7.0f} requests/s  "
                    f"{ratio:5.1f}x Intuit's limit  {verdict}"
                )
        lines.append(f"  target: every figure >= {TARGET_RATIO:.0f}x; worst {worst:.1f}x")
    return lines
