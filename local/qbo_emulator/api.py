"""The Accounting API under ``/v3/company/{realmId}/...`` once the caller is authenticated."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request

from local.qbo_emulator import faults, jsonutil, query
from local.qbo_emulator.clock import qbo_fault_time
from local.qbo_emulator.entities import BY_PATH, BY_WIRE, SPECS, render, shown
from local.qbo_emulator.store import CachedResponse, Realm

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass(frozen=True)
class Event:
    """A change webhooks and CDC report: operation is Create, Update, Delete, Void, Emailed or Merge."""

    realm_id: str
    entity: str
    entity_id: str
    operation: str
    at: datetime
    deleted_id: str | None = None


@dataclass
class ApiContext:
    realm: Realm
    client_id: str
    request: Request
    now: datetime
    segments: list[str]
    # batch items run the same handlers with their own body and parameters
    body_override: dict[str, Any] | None = None
    params_override: dict[str, str] | None = None
    events: list[Event] = field(default_factory=list)

    def param(self, name: str) -> str | None:
        if self.params_override is not None:
            return self.params_override.get(name)
        values = self.request.args.getlist(name)
        return ",".join(values) if values else None

    def includes(self, word: str) -> bool:
        values = self.param("include") or ""
        return word.lower() in [part.strip().lower() for part in values.split(",")]

    def emit(self, entity: str, entity_id: str, operation: str, deleted_id: str | None = None) -> None:
        self.events.append(Event(self.realm.realm_id, entity, str(entity_id), operation, self.now, deleted_id))


@dataclass
class ApiResult:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    is_write: bool = False


Handler = Callable[[ApiContext], ApiResult]


def json_result(ctx: ApiContext, payload: dict[str, Any], status: int = 200) -> ApiResult:
    body = dict(payload)
    body["time"] = qbo_fault_time(ctx.now, ctx.realm.tz)
    return ApiResult(status, jsonutil.dumps(body).encode("utf-8"))


def decode_body(ctx: ApiContext) -> str:
    raw = ctx.request.get_data(cache=True)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise faults.unsupported_operation(
            "Unsupported Operation: the request body is not valid UTF-8 (check the Content-Length of non-ASCII bodies)"
        ) from exc


def json_body(ctx: ApiContext) -> dict[str, Any]:
    if ctx.body_override is not None:
        return ctx.body_override
    text = decode_body(ctx)
    try:
        body = jsonutil.loads(text)
    except ValueError as exc:
        raise faults.request_has_invalid_or_unsupported(f"Request has invalid or unsupported property: {exc}") from exc
    if not isinstance(body, dict):
        raise faults.request_has_invalid_or_unsupported("The request body must be a JSON object")
    return body


class Api:
    def __init__(self) -> None:
        # entity path -> write handler (create/update/delete/void); filled by the entity modules
        self.writers: dict[str, Handler] = {}
        # (entity path, sub-resource) -> handler for GET /{path}/{id}/{sub}
        self.subresources: dict[tuple[str, str], Handler] = {}
        # operations outside the entity paths, by their path: "upload", "taxservice/taxcode"
        self.operations: dict[str, Handler] = {}

    def handle(self, ctx: ApiContext) -> ApiResult:
        method = ctx.request.method
        segs = ctx.segments
        if not segs:
            raise self._unsupported(ctx)
        head = segs[0]
        if head == "companyinfo" and method == "GET":
            if len(segs) == 2:
                return self.company_info(ctx, segs[1])
        elif head == "preferences" and method == "GET":
            if len(segs) == 1:
                return json_result(ctx, {"Preferences": render(ctx.realm.preferences)})
        elif head == "reports":
            # Reports are not emulated: Intuit's answer to an operation it does not support.
            raise self._unsupported(ctx, status=400)
        elif head == "query":
            if len(segs) == 1 and method in ("GET", "POST"):
                return self.query(ctx)
        elif "/".join(segs) in self.operations:  # e.g. upload, cdc, taxservice/taxcode
            return self.operations["/".join(segs)](ctx)
        elif head in BY_PATH:
            spec = BY_PATH[head]
            if method == "GET" and len(segs) == 2 and spec.readable:
                return self.read(ctx, spec.name, segs[1])
            if method == "POST" and len(segs) == 1 and head in self.writers:
                return self.write(ctx, self.writers[head])
            if len(segs) == 3 and (head, segs[2]) in self.subresources:
                return self.subresources[(head, segs[2])](ctx)
        raise self._unsupported(ctx)

    @staticmethod
    def _unsupported(ctx: ApiContext, status: int = 404) -> faults.QboFault:
        path = ctx.request.path
        return faults.unsupported_operation(
            f"Operation Could not find resource for relative : {path} of full path: {ctx.request.base_url} "
            "is not supported.",
            status=status,
        )

    def company_info(self, ctx: ApiContext, requested: str) -> ApiResult:
        if requested != ctx.realm.realm_id:
            raise faults.object_not_found("CompanyInfo", requested)
        return json_result(ctx, {"CompanyInfo": render(ctx.realm.company_info)})

    def read(self, ctx: ApiContext, entity: str, object_id: str) -> ApiResult:
        record = ctx.realm.snapshot(entity, object_id)
        if record is None:
            raise faults.object_not_found(entity, object_id)
        spec = SPECS[entity]
        return json_result(ctx, {spec.wire: shown(spec, record, render(record), ctx.includes)})

    def query(self, ctx: ApiContext) -> ApiResult:
        text = ctx.request.args.get("query")
        if ctx.request.method == "POST" and not text:
            text = decode_body(ctx)
        response = query.run(text or "", ctx.realm)
        with ctx.realm.lock:
            for key, rows in response.items():
                spec = BY_WIRE.get(key)
                if spec is not None and spec.on_include and isinstance(rows, list):
                    for row in rows:
                        shown(spec, ctx.realm.get(spec.name, str(row.get("Id"))), row, ctx.includes)
        return json_result(ctx, {"QueryResponse": response})

    def write(self, ctx: ApiContext, handler: Handler) -> ApiResult:
        """Run a write, replaying the first successful answer for a repeated ``requestid``."""
        request_id = ctx.request.args.get("requestid")
        if request_id is not None and len(request_id) > 50:
            raise faults.validation(
                "2050",
                "String length is either shorter or longer than supported by specification",
                "requestid must be at most 50 characters",
                "requestid",
            )
        if request_id is None:
            result = handler(ctx)
            result.is_write = True
            return result
        realm = ctx.realm
        fingerprint = hashlib.sha256(ctx.request.full_path.encode() + ctx.request.get_data(cache=True)).hexdigest()
        with realm.lock:
            cached = realm.request_ids.get(request_id)
            if cached is not None:
                return ApiResult(cached.status, cached.body, is_write=False)
            result = handler(ctx)
            result.is_write = True
            if 200 <= result.status < 300:
                realm.request_ids[request_id] = CachedResponse(result.status, result.body, fingerprint)
            return result
