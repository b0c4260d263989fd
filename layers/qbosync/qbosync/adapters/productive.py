"""Productive's JSON:API (docs/architecture.md "Productive API") over httpx, translated into
qbosync.domain.productive types.

Failure handling, all through tenacity:
- 429: wait what `X-RateLimit-Reset` says (bounded), a bounded number of times, then
  `UpstreamUnavailable(service="productive", retry_after_seconds=...)`.
- 5xx, timeouts, connection errors: exponential back-off, then `UpstreamUnavailable`. A POST creates
  something, so it is only retried when Productive surely did not act on it (429, 503, or the
  connection never opened); otherwise `UpstreamUnavailable` says the outcome is unknown.
- 404 → `NotFound` ("invoice_not_found" for invoices, else "productive_not_found");
  401/403 → `ProductiveError` with a plain explanation; other 4xx → `ProductiveError` with
  Productive's own `errors[]` detail.
The API token never appears in an exception or a log line.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import TracebackType
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from qbosync.domain.errors import NotFound, ProductiveError, UpstreamUnavailable
from qbosync.domain.productive import (
    CUSTOM_FIELD_DATA_TYPES,
    CustomFieldValue,
    ProductiveAddress,
    ProductiveCompany,
    ProductiveCustomField,
    ProductiveCustomFieldOption,
    ProductiveInvoice,
    ProductiveLineItem,
    ProductivePayment,
    ProductiveProject,
)

logger = logging.getLogger(__name__)

JSONAPI = "application/vnd.api+json"
SERVICE = "productive"
PAGE_SIZE = 200
MAX_PAGES = 500
# Ids per `filter[id]=a,b,c` list: keeps a request's URL short (about 1 KB); each list is paged.
IDS_PER_REQUEST = 100
CENT = Decimal("0.01")
Resource = dict[str, Any]
_SINGULAR = {
    "invoices": "invoice",
    "line_items": "line item",
    "companies": "company",
    "contact_entries": "contact entry",
    "custom_fields": "custom field",
    "custom_field_options": "custom field option",
    "payments": "payment",
    "attachments": "attachment",
}


class _Transient(Exception):  # internal signal for tenacity, never escapes
    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class _Unsafe(Exception):  # a POST whose outcome is unknown: not retried
    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class _Document:
    data: Any
    included: dict[tuple[str, str], Resource]
    next_url: str | None = None

    def find(self, linkage: Any) -> Resource | None:
        if not isinstance(linkage, dict):
            return None
        return self.included.get((str(linkage.get("type")), str(linkage.get("id"))))


class ProductiveClient:
    """One Productive organization, as one API token's user sees it.

    `calls` counts HTTP requests sent (retries included), for benchmarks."""

    def __init__(
        self,
        base_url: str,
        api_token: str,
        organization_id: str,
        *,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
        max_attempts: int = 4,
        max_backoff_seconds: float = 4.0,
        max_rate_limit_wait_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = api_token
        self._organization_id = str(organization_id)
        self._owns_http = http is None
        self._http = http or httpx.Client()
        self._timeout = timeout
        self._max_attempts = max(1, max_attempts)
        self._max_backoff = max_backoff_seconds
        self._max_rate_limit_wait = max_rate_limit_wait_seconds
        self._sleep = sleep
        self.calls = 0

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> ProductiveClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ invoices

    def get_invoice(self, invoice_id: str) -> ProductiveInvoice:
        """The invoice with its company; the company's billing details come from the invoice's
        `bill_to` contact entry (or, without one, the company's billing contact entry)."""
        document = self._get_document(
            f"invoices/{invoice_id}", {"include": "company,bill_to"}, resource="invoices", resource_id=invoice_id
        )
        data = _resource(document.data)
        company_resource = document.find(_linkage(data, "company"))
        contact = document.find(_linkage(data, "bill_to"))
        company = None
        if company_resource is not None:
            if contact is None:
                contact = self._billing_contact(str(company_resource["id"]))
            company = _company(company_resource, contact)
        return _invoice(data, company)

    def get_invoices(self, invoice_ids: Sequence[str]) -> dict[str, ProductiveInvoice]:
        """Many invoices with their companies, as get_invoice gives one, by id; ids Productive does not
        show (deleted, another organization's) are left out. One list request per 100 ids (paged), and
        one more per 100 companies whose invoices have no `bill_to`, never one per invoice."""
        data: list[Resource] = []
        included: dict[tuple[str, str], Resource] = {}
        for chunk in _chunks(invoice_ids):
            document = self._list("invoices", {"filter[id]": ",".join(chunk), "include": "company,bill_to"})
            data.extend(document.data)
            included.update(document.included)
        document = _Document(data=data, included=included)
        without_bill_to = {
            str(owner["id"])
            for resource in data
            if document.find(_linkage(resource, "bill_to")) is None
            and (owner := document.find(_linkage(resource, "company"))) is not None
        }
        contacts = self._billing_contacts(sorted(without_bill_to, key=_id_key))
        invoices: dict[str, ProductiveInvoice] = {}
        for resource in data:
            company_resource = document.find(_linkage(resource, "company"))
            company = None
            if company_resource is not None:
                contact = document.find(_linkage(resource, "bill_to")) or contacts.get(str(company_resource["id"]))
                company = _company(company_resource, contact)
            invoices[str(resource["id"])] = _invoice(resource, company)
        return invoices

    def update_invoice_export(
        self, invoice_id: str, *, export_id: str, export_invoice_url: str, number: str | None = None
    ) -> ProductiveInvoice:
        """Marks the invoice as exported to QuickBooks (and writes QuickBooks' number if given); empty
        values mark it as not exported (its copy was voided or deleted in QuickBooks)."""
        attributes: dict[str, Any] = {
            "exported": bool(export_id),
            "export_id": export_id,
            "export_invoice_url": export_invoice_url,
        }
        if number is not None:
            attributes["number"] = number
        body = {"data": {"type": "invoices", "id": str(invoice_id), "attributes": attributes}}
        document = self._send_document(
            "PATCH", f"invoices/{invoice_id}", body, resource="invoices", resource_id=invoice_id
        )
        return _invoice(_resource(document.data), None)

    def download_invoice_pdf(self, invoice_id: str) -> bytes:
        response = self._request(
            "GET",
            f"invoices/{invoice_id}/pdf",
            accept="application/pdf",
            resource="invoices",
            resource_id=invoice_id,
        )
        if not response.content.startswith(b"%PDF"):
            raise ProductiveError("Productive sent something that is not a PDF", http_status=response.status_code)
        return response.content

    def attach_pdf_to_invoice(self, invoice_id: str, filename: str, content: bytes) -> str:
        """Uploads a PDF as an attachment of the invoice; returns the attachment id."""
        response = self._request(
            "POST",
            "attachments",
            data={"invoice_id": str(invoice_id)},
            files={"file": (filename, content, "application/pdf")},
            resource="invoices",
            resource_id=invoice_id,
        )
        return str(_resource(self._parse(response).data)["id"])

    # ------------------------------------------------------------------ line items, companies, fields

    def list_line_items(self, invoice_id: str) -> list[ProductiveLineItem]:
        document = self._list("line_items", {"filter[invoice_id]": str(invoice_id), "include": "service_type,tax_rate"})
        return [_line_item(r, document) for r in document.data]  # in Productive's order; see in_invoice_order

    def list_line_items_of_invoices(self, invoice_ids: Sequence[str]) -> dict[str, list[ProductiveLineItem]]:
        """The line items of many invoices, by invoice id (every id asked for is a key; an empty list for
        an invoice without lines or not shown), each in Productive's order as list_line_items gives them.
        One list request per 100 invoices (`filter[invoice_id]=a,b,c`, paged)."""
        lines: dict[str, list[ProductiveLineItem]] = {str(invoice_id): [] for invoice_id in invoice_ids}
        for chunk in _chunks(invoice_ids):
            document = self._list(
                "line_items", {"filter[invoice_id]": ",".join(chunk), "include": "service_type,tax_rate"}
            )
            for resource in document.data:
                line = _line_item(resource, document)
                lines.setdefault(line.invoice_id, []).append(line)
        return lines

    def projects_of_invoices(self, invoice_ids: Sequence[str]) -> dict[str, tuple[ProductiveProject, ...]]:
        """The projects each invoice bills, reached as Productive links them: the invoice's attributions,
        their budgets (deals with `budget: true`), the budgets' projects. Every id asked for is a key; each
        project once, in the order of the attributions. One list request per 100 invoices
        (`filter[invoice_id]=a,b,c&include=budget.project`, paged)."""
        found: dict[str, dict[str, ProductiveProject]] = {str(invoice_id): {} for invoice_id in invoice_ids}
        for chunk in _chunks(invoice_ids):
            document = self._list(
                "invoice_attributions", {"filter[invoice_id]": ",".join(chunk), "include": "budget.project"}
            )
            for attribution in document.data:
                budget = document.find(_linkage(attribution, "budget"))
                project = document.find(_linkage(budget, "project")) if budget is not None else None
                invoice_id = _rel_id(attribution, "invoice")
                if project is None or invoice_id not in found or _attrs(budget or {}).get("budget") is False:
                    continue
                entry = _project(project)
                found[invoice_id].setdefault(entry.id, entry)
        return {invoice_id: tuple(projects.values()) for invoice_id, projects in found.items()}

    def get_company(self, company_id: str) -> ProductiveCompany:
        document = self._get_document(f"companies/{company_id}", None, resource="companies", resource_id=company_id)
        return _company(_resource(document.data), self._billing_contact(company_id))

    def get_custom_field(self, field_id: str) -> ProductiveCustomField:
        document = self._get_document(
            f"custom_fields/{field_id}", {"include": "options"}, resource="custom_fields", resource_id=field_id
        )
        data = _resource(document.data)
        linkage = (data.get("relationships") or {}).get("options")
        if isinstance(linkage, dict) and isinstance(linkage.get("data"), list):
            options = [document.find(item) for item in linkage["data"]]
            option_resources = [o for o in options if o is not None]
        else:  # the relationship was not offered: ask for the options directly
            option_resources = self._list("custom_field_options", {"filter[custom_field_id]": str(field_id)}).data
        return _custom_field(data, option_resources)

    # ------------------------------------------------------------------ payments

    def create_payment(self, invoice_id: str, amount: Decimal, paid_on: date, note: str | None) -> ProductivePayment:
        body = {
            "data": {
                "type": "payments",
                "attributes": {"amount": _money_out(amount), "paid_on": paid_on.isoformat(), "note": note},
                "relationships": {"invoice": {"data": {"type": "invoices", "id": str(invoice_id)}}},
            }
        }
        document = self._send_document("POST", "payments", body, resource="invoices", resource_id=invoice_id)
        return _payment(_resource(document.data), fallback_invoice_id=str(invoice_id))

    def update_payment(self, payment_id: str, amount: Decimal, paid_on: date, note: str | None) -> ProductivePayment:
        body = {
            "data": {
                "type": "payments",
                "id": str(payment_id),
                "attributes": {"amount": _money_out(amount), "paid_on": paid_on.isoformat(), "note": note},
            }
        }
        document = self._send_document(
            "PATCH", f"payments/{payment_id}", body, resource="payments", resource_id=payment_id
        )
        return _payment(_resource(document.data))

    def delete_payment(self, payment_id: str) -> None:
        """Deletes the payment; one that is already gone counts as deleted."""
        try:
            self._request("DELETE", f"payments/{payment_id}", resource="payments", resource_id=payment_id)
        except NotFound:
            logger.info("Productive payment %s was already gone", payment_id)

    def get_payment(self, payment_id: str) -> ProductivePayment:
        document = self._get_document(f"payments/{payment_id}", None, resource="payments", resource_id=payment_id)
        return _payment(_resource(document.data))

    def list_payments(self, invoice_id: str) -> list[ProductivePayment]:
        document = self._list("payments", {"filter[invoice_id]": str(invoice_id)})
        return [_payment(r, fallback_invoice_id=str(invoice_id)) for r in document.data]

    # ------------------------------------------------------------------ JSON:API plumbing

    def _billing_contact(self, company_id: str) -> Resource | None:
        entries = self._list("contact_entries", {"filter[company_id]": str(company_id)}).data
        return _pick_billing_contact(entries)

    def _billing_contacts(self, company_ids: Sequence[str]) -> dict[str, Resource]:
        """Each company's billing contact entry (as _billing_contact picks it), for many companies."""
        entries: dict[str, list[Resource]] = {}
        for chunk in _chunks(company_ids):
            for entry in self._list("contact_entries", {"filter[company_id]": ",".join(chunk)}).data:
                entries.setdefault(_rel_id(entry, "company") or "", []).append(entry)
        picked = {company_id: _pick_billing_contact(found) for company_id, found in entries.items()}
        return {company_id: contact for company_id, contact in picked.items() if contact is not None}

    def _get_document(
        self, path: str, params: Mapping[str, str] | None, *, resource: str, resource_id: str | None
    ) -> _Document:
        response = self._request("GET", path, params=params, resource=resource, resource_id=resource_id)
        return self._parse(response)

    def _send_document(
        self, method: str, path: str, body: Mapping[str, Any], *, resource: str, resource_id: str | None
    ) -> _Document:
        response = self._request(method, path, json_body=body, resource=resource, resource_id=resource_id)
        return self._parse(response)

    def _list(self, path: str, params: Mapping[str, str]) -> _Document:
        """Every page of a collection (following `links.next`), with every page's `included`."""
        resource = path.split("/", maxsplit=1)[0]
        data: list[Resource] = []
        included: dict[tuple[str, str], Resource] = {}
        url: str | None = path
        query: Mapping[str, str] | None = {**params, "page[size]": str(PAGE_SIZE)}
        for _ in range(MAX_PAGES):
            if url is None:
                break
            response = self._request("GET", url, params=query, resource=resource, resource_id=None)
            page = self._parse(response)
            if not isinstance(page.data, list):
                raise ProductiveError("Productive answered a list request with a single record", http_status=200)
            data.extend(page.data)
            included.update(page.included)
            url, query = page.next_url, None
        return _Document(data=data, included=included)

    def _parse(self, response: httpx.Response) -> _Document:
        try:
            body = response.json()
        except ValueError as exc:
            raise ProductiveError(
                f"Productive answered {response.status_code} with a body that is not JSON",
                http_status=response.status_code,
            ) from exc
        if not isinstance(body, dict) or "data" not in body:
            raise ProductiveError(
                "Productive answered without a JSON:API data member", http_status=response.status_code
            )
        included: dict[tuple[str, str], Resource] = {}
        for item in body.get("included") or []:
            if isinstance(item, dict):
                included[(str(item.get("type")), str(item.get("id")))] = item
        links = body.get("links")
        next_url = links.get("next") if isinstance(links, dict) else None
        return _Document(data=body["data"], included=included, next_url=str(next_url) if next_url else None)

    # ------------------------------------------------------------------ HTTP with retries

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self._base_url}/{path.lstrip('/')}"

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        accept: str = JSONAPI,
        resource: str,
        resource_id: str | None,
    ) -> httpx.Response:
        idempotent = method != "POST"
        retrying = Retrying(
            retry=retry_if_exception_type(_Transient),
            stop=self._stop,
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = self._send_once(
                        method,
                        path,
                        params=params,
                        json_body=json_body,
                        data=data,
                        files=files,
                        accept=accept,
                        idempotent=idempotent,
                    )
        except _Transient as exc:
            retry_after = math.ceil(exc.retry_after) if exc.retry_after is not None else None
            what = "is throttling us" if exc.status == 429 else "is unavailable"
            raise UpstreamUnavailable(
                self._scrub(f"Productive {what} ({exc.reason}); try again later"),
                service=SERVICE,
                retry_after_seconds=retry_after,
                details={"productive_status": exc.status} if exc.status else None,
            ) from None
        except _Unsafe as exc:
            raise UpstreamUnavailable(
                self._scrub(f"Productive did not confirm the {method} ({exc.reason}); it may or may not have happened"),
                service=SERVICE,
                details={"outcome_unknown": True, **({"productive_status": exc.status} if exc.status else {})},
            ) from None
        if response.status_code >= 400:
            raise self._client_error(response, resource, resource_id)
        return response

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        json_body: Mapping[str, Any] | None,
        data: Mapping[str, str] | None,
        files: Mapping[str, tuple[str, bytes, str]] | None,
        accept: str,
        idempotent: bool,
    ) -> httpx.Response:
        headers = {"X-Auth-Token": self._token, "X-Organization-Id": self._organization_id, "Accept": accept}
        content: bytes | None = None
        if json_body is not None:
            headers["Content-Type"] = JSONAPI
            content = _dumps(json_body)
        self.calls += 1
        try:
            response = self._http.request(
                method,
                self._url(path),
                params=params,
                content=content,
                data=data,
                files=files,
                headers=headers,
                timeout=self._timeout,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _Transient(f"cannot connect: {type(exc).__name__}") from None
        except httpx.TimeoutException as exc:
            if not idempotent:
                raise _Unsafe(f"timed out: {type(exc).__name__}") from None
            raise _Transient(f"timed out: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            if not idempotent:
                raise _Unsafe(f"connection failed: {type(exc).__name__}") from None
            raise _Transient(f"connection failed: {type(exc).__name__}") from None
        status = response.status_code
        if status == 429:
            raise _Transient("HTTP 429", status=429, retry_after=_reset_seconds(response))
        if status >= 500:
            if idempotent or status == 503:
                raise _Transient(f"HTTP {status}", status=status, retry_after=_reset_seconds(response))
            raise _Unsafe(f"HTTP {status}", status=status)
        return response

    def _stop(self, state: RetryCallState) -> bool:
        if stop_after_attempt(self._max_attempts)(state):
            return True
        error = state.outcome.exception() if state.outcome else None
        return (
            isinstance(error, _Transient)
            and error.retry_after is not None
            and error.retry_after > self._max_rate_limit_wait
        )

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return float(error.retry_after)
        backoff = min(self._max_backoff, 0.1 * 2 ** (state.attempt_number - 1))
        return float(backoff * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not security

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "Productive call failed (%s); retry %d in %.2fs",
            getattr(error, "reason", "error"),
            state.attempt_number,
            wait,
        )

    def _client_error(self, response: httpx.Response, resource: str, resource_id: str | None) -> Exception:
        status = response.status_code
        errors = _error_objects(response)
        if status == 404:
            what = _SINGULAR.get(resource, resource)
            label = f"Productive {what} {resource_id}" if resource_id else f"The Productive {what}"
            return NotFound(
                f"{label} was not found",
                code="invoice_not_found" if resource == "invoices" else "productive_not_found",
                details={"resource": resource, **({"id": str(resource_id)} if resource_id else {})},
            )
        if status == 401:
            return ProductiveError(
                "Productive did not accept the API token (401): it may be wrong or revoked, "
                "or the organization id may be missing",
                http_status=401,
            )
        if status == 403:
            return ProductiveError(
                f"Productive denied access to {resource} (403): the token's user lacks permission, "
                "or the token belongs to another organization",
                http_status=403,
            )
        details = [self._scrub(str(e.get("detail") or e.get("title") or "")) for e in errors]
        message = "; ".join(d for d in details if d) or f"HTTP {status}"
        return ProductiveError(
            self._scrub(f"Productive rejected the request ({status}): {message}"),
            http_status=status,
            details={"errors": [self._scrub_error(e) for e in errors]},
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[redacted]") if self._token else text

    def _scrub_error(self, error: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("status", "title", "detail", "code", "source"):
            if key in error:
                value = error[key]
                out[key] = self._scrub(value) if isinstance(value, str) else value
        return out


# ---------------------------------------------------------------------- wire → domain


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    """The ids, without repeats, in lists of at most IDS_PER_REQUEST."""
    unique = list(dict.fromkeys(str(value) for value in ids))
    for start in range(0, len(unique), IDS_PER_REQUEST):
        yield unique[start : start + IDS_PER_REQUEST]


def _dumps(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _reset_seconds(response: httpx.Response) -> float | None:
    raw = response.headers.get("X-RateLimit-Reset") or response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _error_objects(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _resource(data: Any) -> Resource:
    if not isinstance(data, dict) or "id" not in data:
        raise ProductiveError("Productive answered without the expected record", http_status=200)
    return data


def _attrs(resource: Resource) -> dict[str, Any]:
    attributes = resource.get("attributes")
    return attributes if isinstance(attributes, dict) else {}


def _linkage(resource: Resource, name: str) -> Any:
    relationship = (resource.get("relationships") or {}).get(name)
    return relationship.get("data") if isinstance(relationship, dict) else None


def _rel_id(resource: Resource, name: str) -> str | None:
    linkage = _linkage(resource, name)
    if isinstance(linkage, dict) and linkage.get("id") is not None:
        return str(linkage["id"])
    value = _attrs(resource).get(f"{name}_id")
    return str(value) if value is not None else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ProductiveError(f"Productive sent {value!r} where a number belongs", http_status=200) from exc
    return number if number.is_finite() else None


def _int(value: Any) -> int | None:
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    return int(text) if text.isdigit() else None


def _money(value: Any) -> Decimal:
    return _decimal(value) or Decimal("0.00")


def _money_out(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP))


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ProductiveError(f"Productive sent {value!r} where a date belongs", http_status=200) from exc


def _id_key(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (1 << 62, value)


def _custom_field_values(raw: Any) -> dict[str, CustomFieldValue]:
    if not isinstance(raw, dict):
        return {}
    values: dict[str, CustomFieldValue] = {}
    for key, value in raw.items():
        if value is None:
            values[str(key)] = None
        elif isinstance(value, list):
            values[str(key)] = tuple(str(v) for v in value)
        else:
            values[str(key)] = str(value)
    return values


def _pick_billing_contact(entries: list[Resource]) -> Resource | None:
    def rank(entry: Resource) -> int:
        attrs = _attrs(entry)
        if attrs.get("type") == "billing":
            return 0
        if attrs.get("billing_email") or attrs.get("billing_address"):
            return 1
        if attrs.get("address") or attrs.get("city"):
            return 2
        return 3 if attrs.get("email") else 4

    candidates = [e for e in entries if rank(e) < 4]
    return min(candidates, key=rank) if candidates else None


def _company(resource: Resource, contact: Resource | None) -> ProductiveCompany:
    attrs = _attrs(resource)
    billing_email = None
    address = ProductiveAddress()
    if contact is not None:
        c = _attrs(contact)
        billing_email = _text(c.get("billing_email")) or _text(c.get("email"))
        address = ProductiveAddress(
            address=_text(c.get("address")) or _text(c.get("billing_address")),
            city=_text(c.get("city")),
            state=_text(c.get("state")),
            zipcode=_text(c.get("zipcode")),
            country=_text(c.get("country")),
        )
    return ProductiveCompany(
        id=str(resource["id"]),
        name=str(attrs.get("name") or ""),
        billing_name=_text(attrs.get("billing_name")),
        default_currency=_text(attrs.get("default_currency")),
        vat=_text(attrs.get("vat")),
        billing_contact_id=str(contact["id"]) if contact is not None else None,
        billing_email=billing_email,
        billing_address=address,
    )


def _invoice(resource: Resource, company: ProductiveCompany | None) -> ProductiveInvoice:
    attrs = _attrs(resource)
    return ProductiveInvoice(
        id=str(resource["id"]),
        number=_text(attrs.get("number")),
        currency=str(attrs.get("currency") or ""),
        invoiced_on=_date(attrs.get("invoiced_on")),
        company_id=_rel_id(resource, "company"),
        subject=_text(attrs.get("subject")),
        note=_text(attrs.get("note")),
        purchase_order_number=_text(attrs.get("purchase_order_number")),
        pay_on=_date(attrs.get("pay_on")),
        discount=_decimal(attrs.get("discount")),
        amount=_money(attrs.get("amount")),
        amount_tax=_money(attrs.get("amount_tax")),
        amount_with_tax=_money(attrs.get("amount_with_tax")),
        amount_paid=_money(attrs.get("amount_paid")),
        amount_unpaid=_money(attrs.get("amount_unpaid")),
        custom_fields=_custom_field_values(attrs.get("custom_fields")),
        exported=bool(attrs.get("exported")),
        export_id=_text(attrs.get("export_id")),
        export_invoice_url=_text(attrs.get("export_invoice_url")),
        subsidiary_id=_rel_id(resource, "subsidiary"),
        bill_to_id=_rel_id(resource, "bill_to"),
        company=company,
        invoice_type_id=_int(attrs.get("invoice_type_id")),
        invoice_type=_text(attrs.get("invoice_type")),
        parent_invoice_id=_rel_id(resource, "parent_invoice"),
        amount_credited=_money(attrs.get("amount_credited")),
        amount_credited_with_tax=_money(attrs.get("amount_credited_with_tax")),
    )


def _line_item(resource: Resource, document: _Document) -> ProductiveLineItem:
    attrs = _attrs(resource)
    service_type = document.find(_linkage(resource, "service_type"))
    tax_rate = document.find(_linkage(resource, "tax_rate"))
    tax_value = _decimal(attrs.get("tax_value"))
    if tax_rate is not None and tax_value is None:
        rate = _attrs(tax_rate)
        tax_value = (_decimal(rate.get("primary_component_value")) or Decimal(0)) + (
            _decimal(rate.get("secondary_component_value")) or Decimal(0)
        )
    position = attrs.get("position")
    return ProductiveLineItem(
        id=str(resource["id"]),
        invoice_id=_rel_id(resource, "invoice") or "",
        description=str(attrs.get("description") or attrs.get("name") or ""),
        quantity=_decimal(attrs.get("quantity")) or Decimal(0),
        unit_price=_decimal(attrs.get("unit_price")) or Decimal(0),
        discount=_decimal(attrs.get("discount")) or Decimal(0),
        amount=_decimal(attrs.get("amount")),
        position=int(position) if isinstance(position, int | str) and str(position).isdigit() else None,
        service_type_id=_rel_id(resource, "service_type"),
        service_type_name=_text(_attrs(service_type).get("name")) if service_type else None,
        tax_rate_id=_rel_id(resource, "tax_rate"),
        tax_rate_name=_text(_attrs(tax_rate).get("name")) if tax_rate else _text(attrs.get("tax_name")),
        tax_rate_value=tax_value,
    )


def _project(resource: Resource) -> ProductiveProject:
    attributes = _attrs(resource)
    return ProductiveProject(
        id=str(resource["id"]),
        name=_text(attributes.get("name")) or "",
        project_number=_text(attributes.get("project_number")),
    )


def _custom_field(resource: Resource, options: list[Resource]) -> ProductiveCustomField:
    attrs = _attrs(resource)
    raw_type = attrs.get("data_type_id")
    data_type_id = int(raw_type) if isinstance(raw_type, int | str) and str(raw_type).isdigit() else 1
    ordered = sorted(options, key=lambda o: (_attrs(o).get("position") or 0, _id_key(str(o["id"]))))
    return ProductiveCustomField(
        id=str(resource["id"]),
        name=str(attrs.get("name") or ""),
        data_type=CUSTOM_FIELD_DATA_TYPES.get(data_type_id, "text"),
        data_type_id=data_type_id,
        customizable_type=_text(attrs.get("customizable_type")),
        options=tuple(
            ProductiveCustomFieldOption(id=str(o["id"]), name=str(_attrs(o).get("name") or "")) for o in ordered
        ),
    )


def _payment(resource: Resource, *, fallback_invoice_id: str = "") -> ProductivePayment:
    attrs = _attrs(resource)
    return ProductivePayment(
        id=str(resource["id"]),
        invoice_id=_rel_id(resource, "invoice") or fallback_invoice_id,
        amount=_money(attrs.get("amount")),
        paid_on=_date(attrs.get("paid_on")),
        note=_text(attrs.get("note")),
        written_off_on=_date(attrs.get("written_off_on")),
    )
