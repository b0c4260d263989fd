"""The QuickBooks Online Accounting API v3 over httpx (docs/architecture.md "QuickBooks query language",
"QuickBooks writes, errors and limits" and "QuickBooks change data capture").

- every request names minorversion 75 and asks for JSON;
- a 401 gets one refresh of the access token and one replay (with the same requestid);
- transport errors and 5xx are retried with backoff by tenacity (writes carry a requestid, so a
  replay after a lost response returns the first result instead of writing twice);
- 429 gets two short waits (1 s, then 2 s: a burst over the per-second limit clears); a longer throttle
  is not waited out (Intuit asks for about 60 s): the caller gets UpstreamUnavailable with Retry-After;
- Fault bodies (also inside HTTP 200, and the lowercase 401 variant) become QuickBooksFault; in a
  batch, an item's Fault is that item's answer (BatchItemFault) and only a whole-request one is raised."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from qbosync.domain.connection import CompanyProfile
from qbosync.domain.errors import QuickBooksFault, ReauthorizationRequired, UpstreamUnavailable
from qbosync.domain.money import dumps, loads
from qbosync.domain.ports import AccessTokenProvider, ChangeSet
from qbosync.domain.quickbooks_batch import (
    BatchAnswer,
    BatchItemFault,
    BatchOperation,
    BatchQuery,
    check_batch,
    query_rows,
)

MINOR_VERSION = "75"
QUERY_PAGE_SIZE = 1000
MAX_QUERY_ROWS = 10_000
ATTEMPTS = 3
THROTTLE_RETRY_AFTER_SECONDS = 60
THROTTLE_WAIT_MAX_SECONDS = 2


class _Transient(Exception):
    def __init__(self, response: httpx.Response | None, cause: Exception | None = None):
        super().__init__("transient QuickBooks failure")
        self.response = response
        self.cause = cause


class _Throttled(_Transient):
    """HTTP 429: over Intuit's per-second or concurrency limit (or the minute's 500)."""


def _wait(state: RetryCallState, wait_max: float) -> float:
    # A burst over the 10 requests/s limit clears within a second or two; longer throttles
    # (500/min, metering) outlast any wait a request can afford and end as a 503.
    outcome = state.outcome
    if outcome is not None and isinstance(outcome.exception(), _Throttled):
        return float(min(state.attempt_number, THROTTLE_WAIT_MAX_SECONDS))
    return float(wait_random_exponential(multiplier=0.2, max=wait_max)(state))


def _fault_from(body: Any, status: int) -> QuickBooksFault | None:
    if not isinstance(body, dict):
        return None
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None
    errors = fault.get("Error") or fault.get("error") or [{}]
    first = errors[0] if errors else {}
    return QuickBooksFault(
        str(first.get("Message") or first.get("message") or "QuickBooks returned a fault."),
        fault_code=str(first.get("code") or first.get("Code") or ""),
        fault_type=str(fault.get("type") or fault.get("Type") or ""),
        detail=str(first.get("Detail") or first.get("detail") or ""),
        element=str(first.get("element") or ""),
        http_status=status,
    )


class QuickBooksClient:
    def __init__(
        self,
        *,
        http: httpx.Client,
        base_url: str,
        realm_id: str,
        access_token: AccessTokenProvider,
        retry_wait_max_seconds: float = 2.0,
    ):
        self._http = http
        self._company_url = f"{base_url.rstrip('/')}/v3/company/{realm_id}"
        self.realm_id = realm_id
        self._access_token = access_token
        self._retry_wait_max = retry_wait_max_seconds
        self.calls = 0

    # -- reads -----------------------------------------------------------------------------------

    def company_profile(self) -> CompanyProfile:
        info = self._json("GET", f"/companyinfo/{self.realm_id}")["CompanyInfo"]
        prefs = self._json("GET", "/preferences")["Preferences"]
        sales = prefs.get("SalesFormsPrefs", {})
        currency = prefs.get("CurrencyPrefs", {})
        tax = prefs.get("TaxPrefs", {})
        return CompanyProfile(
            realm_id=self.realm_id,
            company_name=str(info.get("CompanyName", "")),
            country=str(info.get("Country", "")),
            home_currency=str((currency.get("HomeCurrency") or {}).get("value", "USD")),
            multicurrency_enabled=bool(currency.get("MultiCurrencyEnabled", False)),
            custom_txn_numbers=bool(sales.get("CustomTxnNumbers", False)),
            automated_sales_tax=bool(tax.get("PartnerTaxEnabled", False)),
            using_sales_tax=bool(tax.get("UsingSalesTax", False)),
            allow_discount=bool(sales.get("AllowDiscount", True)),
        )

    def query(self, statement: str) -> list[dict[str, Any]]:
        """All rows of a SELECT, page by page (STARTPOSITION is 1-based)."""
        if self._explicit_limit(statement) is not None:
            return self._query_page(statement)
        rows: list[dict[str, Any]] = []
        start = 1
        while True:
            page = self._query_page(f"{statement} startposition {start} maxresults {QUERY_PAGE_SIZE}")
            rows.extend(page)
            if len(page) < QUERY_PAGE_SIZE or len(rows) >= MAX_QUERY_ROWS:
                return rows
            start += QUERY_PAGE_SIZE

    def _query_page(self, statement: str) -> list[dict[str, Any]]:
        return query_rows(self._json("GET", "/query", params={"query": statement})["QueryResponse"])

    def get(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        try:
            body = self._json("GET", f"/{entity.lower()}/{entity_id}")
        except QuickBooksFault as fault:
            if fault.fault_code == QuickBooksFault.OBJECT_NOT_FOUND or fault.http_status == 404:
                return None
            raise
        value = body.get(entity)
        return value if isinstance(value, dict) else None

    def cdc(self, entities: Sequence[str], changed_since: datetime) -> ChangeSet:
        """Change Data Capture: every object of these entities changed since then (deleted ones as
        {"Id", "status": "Deleted"}); at most 1000 objects in all, so a full answer may be cut short."""
        body = self._json(
            "GET",
            "/cdc",
            params={"entities": ",".join(entities), "changedSince": changed_since.isoformat(timespec="seconds")},
        )
        changed: dict[str, list[dict[str, Any]]] = {name: [] for name in entities}
        for response in body.get("CDCResponse") or []:
            for part in (response or {}).get("QueryResponse") or []:
                for name, rows in (part or {}).items():
                    if isinstance(rows, list):
                        changed.setdefault(name, []).extend(row for row in rows if isinstance(row, dict))
        answered_at = None
        if isinstance(body.get("time"), str):
            try:
                answered_at = datetime.fromisoformat(body["time"].replace("Z", "+00:00"))
            except ValueError:
                answered_at = None
        return ChangeSet(changed=changed, answered_at=answered_at)

    # -- writes ----------------------------------------------------------------------------------

    def create(self, entity: str, payload: dict[str, Any], *, request_id: str) -> dict[str, Any]:
        body = self._json("POST", f"/{entity.lower()}", content=dumps(payload), params={"requestid": request_id})
        return dict(body[entity])

    def update(
        self, entity: str, payload: dict[str, Any], *, request_id: str, operation: str | None = None
    ) -> dict[str, Any]:
        params = {"requestid": request_id}
        if operation:
            params["operation"] = operation
        body = self._json("POST", f"/{entity.lower()}", content=dumps(payload), params=params)
        return dict(body.get(entity) or {})

    def upload_attachment(
        self, *, entity: str, entity_id: str, filename: str, content: bytes, content_type: str, request_id: str
    ) -> dict[str, Any]:
        """Attach a file to an entity (multipart `file_metadata_01` + `file_content_01`)."""
        metadata = dumps(
            {
                "AttachableRef": [{"EntityRef": {"type": entity, "value": entity_id}, "IncludeOnSend": False}],
                "FileName": filename,
                "ContentType": content_type,
            }
        )
        body = self._json(
            "POST",
            "/upload",
            params={"requestid": request_id},
            files={
                "file_metadata_01": (None, metadata.encode(), "application/json"),
                "file_content_01": (filename, content, content_type),
            },
        )
        responses = body.get("AttachableResponse") or [{}]
        return dict(responses[0].get("Attachable") or {})

    def batch(self, operations: Sequence[BatchOperation], *, request_id: str) -> dict[str, BatchAnswer]:
        """`POST /batch`: the whole request is retried like any write, with the same requestid, so a
        batch whose answer was lost is answered again instead of written twice."""
        check_batch(operations, request_id)
        items = [
            {"bId": op.bid, "Query": op.statement}
            if isinstance(op, BatchQuery)
            else {"bId": op.bid, "operation": op.operation, op.entity: op.payload}
            for op in operations
        ]
        body = self._json(
            "POST", "/batch", content=dumps({"BatchItemRequest": items}), params={"requestid": request_id}
        )
        answered = {
            str(item.get("bId")): item
            for item in body.get("BatchItemResponse") or []
            if isinstance(item, dict) and item.get("bId") is not None
        }
        answers: dict[str, BatchAnswer] = {}
        for op in operations:
            item = answered.get(op.bid)
            if item is None:
                raise UpstreamUnavailable(
                    f"QuickBooks' batch answer lacks item {op.bid}.", service="quickbooks", retry_after_seconds=30
                )
            fault = _fault_from(item, 200)
            if fault is not None:
                answers[op.bid] = BatchItemFault(
                    code=fault.fault_code,
                    message=fault.message,
                    detail=fault.detail,
                    fault_type=fault.fault_type,
                    element=fault.element,
                )
            else:
                key = "QueryResponse" if isinstance(op, BatchQuery) else op.entity
                answers[op.bid] = dict(item.get(key) or {})
        return answers

    def download_pdf(self, entity: str, entity_id: str) -> bytes:
        response = self._send("GET", f"/{entity.lower()}/{entity_id}/pdf", accept="application/pdf")
        return response.content

    # -- internals -------------------------------------------------------------------------------

    @staticmethod
    def _explicit_limit(statement: str) -> int | None:
        words = statement.lower().split()
        if "maxresults" in words:
            index = words.index("maxresults")
            if index + 1 < len(words) and words[index + 1].isdigit():
                return int(words[index + 1])
        return None

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, path, **kwargs)
        try:
            body = loads(response.content)
        except ValueError as exc:
            raise UpstreamUnavailable(
                "QuickBooks answered with something that is not JSON.", service="quickbooks"
            ) from exc
        fault = _fault_from(body, response.status_code)
        if fault is not None:
            raise fault
        if not isinstance(body, dict):
            raise UpstreamUnavailable("QuickBooks answered with an unexpected body.", service="quickbooks")
        return body

    def _send(self, method: str, path: str, *, accept: str = "application/json", **kwargs: Any) -> httpx.Response:
        params = {"minorversion": MINOR_VERSION, **kwargs.pop("params", {})}
        token = self._access_token.current()
        response = self._with_retries(lambda: self._once(method, path, token, accept, params, kwargs))
        if response.status_code == 401:
            token = self._access_token.refreshed(token)
            response = self._with_retries(lambda: self._once(method, path, token, accept, params, kwargs))
            if response.status_code == 401:
                raise ReauthorizationRequired("QuickBooks rejects this connection's tokens; reconnect it.")
        if response.status_code >= 400 and accept != "application/json":
            fault = _fault_from(self._maybe_json(response), response.status_code)
            raise fault or UpstreamUnavailable(
                f"QuickBooks answered HTTP {response.status_code}.", service="quickbooks"
            )
        return response

    @staticmethod
    def _maybe_json(response: httpx.Response) -> Any:
        try:
            return loads(response.content)
        except ValueError:
            return None

    def _once(
        self, method: str, path: str, token: str, accept: str, params: dict[str, str], kwargs: dict[str, Any]
    ) -> httpx.Response:
        self.calls += 1
        try:
            response = self._http.request(
                method,
                self._company_url + path,
                params=params,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": accept,
                    **({"Content-Type": "application/json"} if "content" in kwargs else {}),
                },
                **kwargs,
            )
        except httpx.TransportError as exc:
            raise _Transient(None, exc) from exc
        if response.status_code == 429:
            raise _Throttled(response)
        if response.status_code >= 500:
            raise _Transient(response)
        return response

    def _with_retries(self, call: Callable[[], httpx.Response]) -> httpx.Response:
        retrying = Retrying(
            retry=retry_if_exception(lambda error: isinstance(error, _Transient)),
            wait=lambda state: _wait(state, self._retry_wait_max),
            stop=stop_after_attempt(ATTEMPTS),
        )
        try:
            return retrying(call)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            if isinstance(last, _Throttled):
                retry_after = last.response.headers.get("Retry-After") if last.response is not None else None
                raise UpstreamUnavailable(
                    "QuickBooks is throttling requests for this company; try again in a minute.",
                    service="quickbooks",
                    retry_after_seconds=int(retry_after)
                    if retry_after and retry_after.isdigit()
                    else THROTTLE_RETRY_AFTER_SECONDS,
                    code="quickbooks_throttled",
                ) from None
            status = last.response.status_code if isinstance(last, _Transient) and last.response else None
            raise UpstreamUnavailable(
                "QuickBooks is not answering right now; try again shortly."
                if status is None
                else f"QuickBooks keeps answering HTTP {status}; try again shortly.",
                service="quickbooks",
                retry_after_seconds=30,
            ) from None
