"""Change Data Capture (``GET /cdc?entities=Invoice,Payment&changedSince=...``) and batch
(``POST /batch``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from local.qbo_emulator import faults, jsonutil, query
from local.qbo_emulator.api import Api, ApiContext, ApiResult, json_body, json_result
from local.qbo_emulator.clock import parse_qbo_datetime, qbo_time
from local.qbo_emulator.entities import SPECS, render

CDC_LOOKBACK = timedelta(days=30)
CDC_MAX_OBJECTS = 1000
CDC_ENTITIES = tuple(spec.name for spec in SPECS.values() if spec.cdc)
BATCH_MAX_ITEMS = 30
BATCH_OPERATIONS = ("create", "update", "delete")
# A batch's requestid may be at most 36 characters (a single write's 50), its bIds then at most 10.
BATCH_REQUEST_ID_MAX_LENGTH = 36
BATCH_ID_MAX_LENGTH = 10


def cdc(ctx: ApiContext) -> ApiResult:
    if ctx.request.method != "GET":
        raise faults.unsupported_operation("cdc accepts GET only", status=405)
    entities_param = ctx.param("entities")
    since_param = ctx.param("changedSince")
    if not entities_param:
        raise faults.required_param("entities", "ChangeDataCapture")
    if not since_param:
        raise faults.required_param("changedSince", "ChangeDataCapture")
    since = parse_qbo_datetime(since_param, ctx.realm.tz)
    if since is None:
        raise faults.validation(
            "2170", "Invalid Date", f"changedSince is not a date-time: {since_param}", "changedSince"
        )
    if since < ctx.now - CDC_LOOKBACK:
        raise faults.validation(
            "6000",
            "A business validation error has occurred while processing your request",
            "Business Validation Error: changedSince must be within the last 30 days",
            "changedSince",
        )
    by_lower = {name.lower(): name for name in CDC_ENTITIES}
    names = []
    for raw in entities_param.split(","):
        name = by_lower.get(raw.strip().lower())
        if name is None:
            raise faults.validation(
                "2170",
                "Invalid Enumeration",
                f"Entity {raw.strip()} is not supported by change data capture",
                "entities",
            )
        if name not in names:
            names.append(name)
    realm = ctx.realm
    budget = CDC_MAX_OBJECTS
    responses: list[dict[str, Any]] = []
    with realm.lock:
        for name in names:
            changed: list[tuple[Any, dict[str, Any]]] = []
            for record in realm.all(name):
                stamp = parse_qbo_datetime(record.get("MetaData", {}).get("LastUpdatedTime", ""), realm.tz)
                if stamp is not None and stamp >= since.replace(microsecond=0):
                    changed.append((stamp, render(record)))
            for object_id, when in realm.deleted.get(name, {}).items():
                if when >= since:
                    changed.append(
                        (
                            when,
                            {
                                "domain": "QBO",
                                "status": "Deleted",
                                "Id": object_id,
                                "MetaData": {"LastUpdatedTime": qbo_time(when, realm.tz)},
                            },
                        )
                    )
            changed.sort(key=lambda pair: pair[0])
            rows = [row for _, row in changed][:budget]
            budget -= len(rows)
            if rows:
                responses.append({name: rows, "startPosition": 1, "maxResults": len(rows), "totalCount": len(rows)})
            else:
                responses.append({})
    return json_result(ctx, {"CDCResponse": [{"QueryResponse": responses}]})


def make_batch(api: Api) -> Any:
    def batch(ctx: ApiContext) -> ApiResult:
        if ctx.request.method != "POST":
            raise faults.unsupported_operation("batch accepts POST only", status=405)
        body = json_body(ctx)
        items = body.get("BatchItemRequest")
        if not isinstance(items, list) or not items:
            raise faults.required_param("BatchItemRequest", "Batch")
        if len(items) > BATCH_MAX_ITEMS:
            raise faults.validation(
                "2010",
                "Request has invalid or unsupported property",
                f"A batch may carry at most {BATCH_MAX_ITEMS} items; this one has {len(items)}",
                "BatchItemRequest",
            )
        request_id = ctx.request.args.get("requestid")
        if request_id is not None and len(request_id) > BATCH_REQUEST_ID_MAX_LENGTH:
            raise faults.validation(
                "2050",
                "String length is either shorter or longer than supported by specification",
                f"A batch's requestid may be at most {BATCH_REQUEST_ID_MAX_LENGTH} characters",
                "requestid",
            )
        seen: set[str] = set()
        with_request_id = request_id is not None
        for item in items:
            bid = _bid(item)
            if bid is None:
                continue
            if bid in seen:
                raise faults.validation(
                    "2010", "Request has invalid or unsupported property", f"bId {bid} is used twice", "bId"
                )
            if with_request_id and len(bid) > BATCH_ID_MAX_LENGTH:
                raise faults.validation(
                    "2050",
                    "String length is either shorter or longer than supported by specification",
                    f"bId may be at most {BATCH_ID_MAX_LENGTH} characters with a requestid",
                    "bId",
                )
            seen.add(bid)
        return api.write(ctx, lambda inner: _run_batch(api, inner, items))

    return batch


def _bid(item: Any) -> str | None:
    bid = item.get("bId") if isinstance(item, dict) else None
    return None if bid is None or bid == "" else str(bid)


def _run_batch(api: Api, ctx: ApiContext, items: list[Any]) -> ApiResult:
    responses = []
    for item in items:
        # An item without a bId still runs; its answer has no bId either (README, "Emulator choices").
        bid = _bid(item)
        answer: dict[str, Any] = {} if bid is None else {"bId": bid}
        try:
            answer.update(_run_item(api, ctx, item))
        except faults.QboFault as fault:
            answer["Fault"] = fault.fault()
        responses.append(answer)
    return json_result(ctx, {"BatchItemResponse": responses})


def _run_item(api: Api, ctx: ApiContext, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise faults.request_has_invalid_or_unsupported("A batch item is an object with an entity or a Query")
    if "Query" in item:
        return {"QueryResponse": query.run(str(item["Query"]), ctx.realm)}
    operation = str(item.get("operation") or "")
    if operation not in BATCH_OPERATIONS:
        raise faults.invalid_enum("operation", operation)
    entity_names = [key for key in item if key in SPECS]
    if len(entity_names) != 1:
        raise faults.request_has_invalid_or_unsupported("A batch item carries exactly one entity or a Query")
    entity = entity_names[0]
    path = SPECS[entity].path
    writer = api.writers.get(path)
    if writer is None:
        raise faults.unsupported_operation(f"Batch {operation} is not supported for {entity}")
    options = str(item.get("optionsData") or "")
    params = {"operation": operation}
    includes = [part.strip() for part in options.split(",") if part.strip()]
    if "void" in includes and entity == "Invoice":
        params["operation"] = "void"
        includes.remove("void")
    if includes:
        params["include"] = ",".join(includes)
    sub = ApiContext(
        realm=ctx.realm,
        client_id=ctx.client_id,
        request=ctx.request,
        now=ctx.now,
        segments=[path],
        body_override=dict(item[entity]) if isinstance(item[entity], dict) else {},
        params_override=params,
    )
    answer = writer(sub)
    ctx.events.extend(sub.events)
    payload = jsonutil.loads(answer.body)
    payload.pop("time", None)
    return dict(payload)
