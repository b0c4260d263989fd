"""A single copy on its critical path: remote calls that do not depend on each other run at once.

Target (issue 11): with 200 ms of injected latency on every remote call (both emulators), a warm copy
(known customer, cached tax, mapped items) takes at most 1.15x (its longest chain of dependent remote
calls x 200 ms). The copy runs through the service as in bench/copies.py, once per PDF setting, the
median of RUNS copies.

The chain comes from the calls the copy made, not from their timing: each call gets a kind by what it
does (`kind_of`), each kind waits for the kinds whose answers it needs (`DEPENDS_ON`), and the chain is
the longest path through the kinds present (`longest_chain`). For a warm invoice copy that is
[read invoice | read lines] -> write -> download PDF -> upload PDF, with the write-back beside the PDF
move: 4 calls. The PDF move follows the write whichever way the PDF goes: it belongs to the written
invoice, and no PDF is fetched for a copy QuickBooks refuses (docs/architecture.md "Copy"). Timing would
make a circular measure (a copy that made every call one by one would be its own chain and pass), so it
is printed beside the chain instead: "as run" is the most calls that ran one after another
(`run_in_sequence`); more than the chain means calls that could overlap did not."""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

import httpx

from bench.stack import HttpCall, bench_stack, configure, connect_demo, demo_settings, http_calls, injected_latency

LATENCY_SECONDS = 0.2
TARGET = 1.15
RUNS = 5

Service = Literal["QuickBooks", "Productive"]

READ_INVOICE = "read invoice"
READ_LINES = "read lines"
READ_DETAILS = "read Productive details"  # the invoice's company, custom fields: named by the invoice
READ_QUICKBOOKS = "read QuickBooks"  # tax codes, preferences, an invoice's balance: named by the request
FIND_CUSTOMER = "find customer"
CREATE_CUSTOMER = "create customer"
WRITE = "write"  # the invoice or credit memo, alone or in a batch
DOWNLOAD_PDF = "download PDF"
UPLOAD_PDF = "upload PDF"
WRITE_BACK = "write-back"
APPLY_CREDIT = "apply credit"

#: What each kind of call needs the answer of, when those calls are made at all.
DEPENDS_ON: Mapping[str, tuple[str, ...]] = {
    READ_INVOICE: (),
    READ_LINES: (),
    READ_QUICKBOOKS: (),
    READ_DETAILS: (READ_INVOICE,),
    FIND_CUSTOMER: (READ_INVOICE, READ_DETAILS),
    CREATE_CUSTOMER: (READ_INVOICE, READ_DETAILS, FIND_CUSTOMER),
    WRITE: (READ_INVOICE, READ_LINES, READ_QUICKBOOKS, READ_DETAILS, FIND_CUSTOMER, CREATE_CUSTOMER),
    DOWNLOAD_PDF: (WRITE,),
    UPLOAD_PDF: (WRITE, DOWNLOAD_PDF),
    WRITE_BACK: (WRITE,),
    APPLY_CREDIT: (WRITE, READ_QUICKBOOKS),
}

# (method, path within the API) -> kind; the first match wins.
_PRODUCTIVE_KINDS: tuple[tuple[str, str, str], ...] = (
    ("GET", r"/invoices/\d+/pdf", DOWNLOAD_PDF),
    ("GET", r"/invoices(/\d+)?", READ_INVOICE),
    ("GET", r"/line_items", READ_LINES),
    ("GET", r"/.+", READ_DETAILS),
    ("POST", r"/attachments", UPLOAD_PDF),
    ("PATCH", r"/invoices/\d+", WRITE_BACK),
)
_QUICKBOOKS_KINDS: tuple[tuple[str, str, str], ...] = (
    ("GET", r"/(invoice|creditmemo)/\d+/pdf", DOWNLOAD_PDF),
    ("GET", r"/.+", READ_QUICKBOOKS),
    ("POST", r"/customer", CREATE_CUSTOMER),
    ("POST", r"/(invoice|creditmemo|batch)", WRITE),
    ("POST", r"/upload", UPLOAD_PDF),
    ("POST", r"/payment", APPLY_CREDIT),
)
_PRODUCTIVE_PREFIX = re.compile(r"^/api/v2(?=/)")
_QUICKBOOKS_PREFIX = re.compile(r"^/v3/company/[^/]+(?=/)")


@dataclass(frozen=True)
class RemoteCall:
    """A call to QuickBooks or Productive: `path` is within the API (after /api/v2, or after
    /v3/company/{realm}); `query` the raw query string; times in seconds from one clock."""

    service: Service
    method: str
    path: str
    query: str = ""
    started: float = 0.0
    ended: float = 0.0


def remote_call(
    service: Service, method: str, path: str, query: str = "", started: float = 0.0, ended: float = 0.0
) -> RemoteCall:
    """A call as an emulator saw it (its full path), with the API's own prefix taken off."""
    prefix = _PRODUCTIVE_PREFIX if service == "Productive" else _QUICKBOOKS_PREFIX
    return RemoteCall(service, method.upper(), prefix.sub("", path, count=1), query, started, ended)


def kind_of(call: RemoteCall) -> str:
    """What the call does (a key of DEPENDS_ON). A call no rule knows is an error: the chain would be
    wrong without it."""
    if call.service == "QuickBooks" and call.method == "GET" and call.path == "/query":
        statement = " ".join(parse_qs(call.query).get("query", []))
        return FIND_CUSTOMER if re.search(r"\bfrom\s+customer\b", statement, re.IGNORECASE) else READ_QUICKBOOKS
    rules = _PRODUCTIVE_KINDS if call.service == "Productive" else _QUICKBOOKS_KINDS
    for method, pattern, kind in rules:
        if call.method == method and re.fullmatch(pattern, call.path):
            return kind
    raise ValueError(f"no kind for the {call.service} call {call.method} {call.path}: add it to bench/critical_path.py")


def longest_chain(kinds: Iterable[str], depends_on: Mapping[str, Sequence[str]] = DEPENDS_ON) -> list[str]:
    """The longest path of kinds, each waiting for the one before, through the kinds present. Kinds
    absent are skipped (a warm copy finds no customer); calls of one kind wait for none of each other."""
    return max(_chains_to(kinds, depends_on).values(), key=len, default=[])


def steps(kinds: Iterable[str], depends_on: Mapping[str, Sequence[str]] = DEPENDS_ON) -> list[list[str]]:
    """The kinds present by the earliest step they can run at (1 + the longest chain before them)."""
    by_step: dict[int, list[str]] = {}
    for kind, chain in _chains_to(kinds, depends_on).items():
        by_step.setdefault(len(chain), []).append(kind)
    return [by_step[step] for step in sorted(by_step)]


def _chains_to(kinds: Iterable[str], depends_on: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """For each kind present, the longest chain that ends with it (sorted kinds, so ties go one way)."""
    present = sorted(set(kinds))
    chains: dict[str, list[str]] = {}

    def chain_to(kind: str, path: frozenset[str]) -> list[str]:
        if kind in path:
            raise ValueError(f"the dependencies of {kind!r} go round in a circle")
        if kind not in chains:
            before = [chain_to(needed, path | {kind}) for needed in depends_on[kind] if needed in present]
            chains[kind] = [*max(before, key=len, default=[]), kind]
        return chains[kind]

    return {kind: chain_to(kind, frozenset()) for kind in present}


def describe(kinds: Iterable[str], depends_on: Mapping[str, Sequence[str]] = DEPENDS_ON) -> str:
    """The steps as one line: kinds of one step in brackets, steps joined by arrows."""
    return " -> ".join(step[0] if len(step) == 1 else "[" + " | ".join(step) + "]" for step in steps(kinds, depends_on))


def run_in_sequence(calls: Iterable[RemoteCall]) -> list[RemoteCall]:
    """The most calls that ran strictly one after another (each starting after the one before ended):
    earliest end first gives the most."""
    chosen: list[RemoteCall] = []
    for call in sorted(calls, key=lambda c: (c.ended, c.started)):
        if not chosen or call.started >= chosen[-1].ended:
            chosen.append(call)
    return chosen


@dataclass(frozen=True)
class CopyRun:
    wall_seconds: float
    calls: tuple[RemoteCall, ...]
    started: float

    @property
    def chain(self) -> list[str]:
        return longest_chain(kind_of(call) for call in self.calls)


def report_lines(label: str, runs: Sequence[CopyRun], latency: float = LATENCY_SECONDS) -> list[str]:
    """The median run's wall time against its chain x latency, and that run's calls on a timeline."""
    chains = {len(run.chain) for run in runs}
    if len(chains) != 1:
        raise ValueError(f"the copies' chains differ in length: {sorted(chains)}")
    median = sorted(runs, key=lambda run: run.wall_seconds)[(len(runs) - 1) // 2]
    chain = median.chain
    floor = len(chain) * latency
    ratio = median.wall_seconds / floor
    verdict = "ok" if ratio <= TARGET else "OVER TARGET"
    sequence = run_in_sequence(median.calls)
    lines = [
        f"  {label}: wall {median.wall_seconds * 1000:.0f} ms (median of {len(runs)}); longest chain of dependent "
        f"calls {len(chain)} x {latency * 1000:.0f} ms = {floor * 1000:.0f} ms; {ratio:.2f}x (target <= {TARGET}x) "
        f"{verdict}",
        f"      steps: {describe(kind_of(call) for call in median.calls)}",
        f"      as run: {len(sequence)} of {len(median.calls)} calls one after another",
    ]
    for call in sorted(median.calls, key=lambda c: c.started):
        lines.append(
            f"      {(call.started - median.started) * 1000:5.0f}-{(call.ended - median.started) * 1000:4.0f} ms  "
            f"{call.service:<10} {call.method:<5} {call.path}  ({kind_of(call)})"
        )
    return lines


def run() -> list[str]:
    lines = [
        f"A single copy on its critical path (known customer, cached tax; {LATENCY_SECONDS * 1000:.0f} ms added "
        "to every QuickBooks and Productive call)"
    ]
    with bench_stack() as (productive, stack, app):
        demo = productive.seed_demo()
        connection_id = connect_demo(stack, app, demo, stack.emulator.US_REALM)
        wiring = importlib.import_module("qbosync.wiring")
        domain_copies = importlib.import_module("qbosync.domain.copies")
        emulators = {"QuickBooks": origin(stack.emulator.base_url), "Productive": origin(productive.base_url)}

        def copy() -> None:
            wiring.copy_service().copy(
                domain_copies.CopyRequest(
                    connection_id=connection_id,
                    invoice_id=demo.invoice_usd_id,
                    customer_id=None,
                    tax_code_id=None,
                    mode="create",
                )
            )

        def timed_copy() -> CopyRun:
            stack.emulator.reset_request_log()
            productive.reset_request_log()
            with http_calls() as sent:
                started = time.perf_counter()
                copy()
                wall = time.perf_counter() - started
            calls = tuple(_remote(call, emulators) for call in sent)
            _check_against_request_logs(calls, stack, productive)
            return CopyRun(wall, calls, started)

        for pdf_source in ("quickbooks", "productive"):
            configure(app, connection_id, demo_settings(demo, pdf_source=pdf_source))
            copy()  # first copy: finds or creates the customer, caches the tax codes and the token
            with injected_latency(stack, productive, LATENCY_SECONDS):
                runs = [timed_copy() for _ in range(RUNS)]
            lines.extend(report_lines(f"pdf_source={pdf_source}", runs))
    return lines


def origin(base_url: str) -> tuple[str, int]:
    """(host, port) of an emulator's base URL, to tell its calls from others."""
    url = httpx.URL(base_url)
    return url.host, url.port or 80


def _remote(call: HttpCall, emulators: Mapping[str, tuple[str, int]]) -> RemoteCall:
    origin = (call.url.host, call.url.port or 80)
    service: Service = "QuickBooks" if origin == emulators["QuickBooks"] else "Productive"
    if origin not in emulators.values():
        raise ValueError(f"a copy called neither emulator: {call.method} {call.url}")
    return remote_call(service, call.method, call.url.path, call.url.query.decode(), call.started, call.ended)


def _check_against_request_logs(calls: Sequence[RemoteCall], stack: Any, productive: Any) -> None:
    """What this process recorded is what the emulators served: nothing missed, nothing extra."""
    served: dict[Service, list[tuple[str, str]]] = {
        "QuickBooks": [(method, path) for method, path, _ in stack.emulator.request_log if path.startswith("/v3/")],
        "Productive": [(entry.method, entry.path) for entry in productive.request_log],
    }
    for service, seen in served.items():
        sent = sorted((call.method, call.path) for call in calls if call.service == service)
        logged = sorted((method, remote_call(service, method, path).path) for method, path in seen)
        assert sent == logged, (service, sent, logged)
