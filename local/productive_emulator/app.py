"""The WSGI application: Productive's JSON:API under /api/v2."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.productive_emulator.control import LoggedRequest
from local.productive_emulator.errors import ApiError, bad_request, error_object, not_found
from local.productive_emulator.money import to_decimal
from local.productive_emulator.pdf import render_invoice_pdf
from local.productive_emulator.resources import SPECS, Filter, Spec
from local.productive_emulator.store import Organization, Record, Token

if TYPE_CHECKING:
    from local.productive_emulator.emulator import ProductiveEmulator

JSONAPI = "application/vnd.api+json"
DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 200
OPERATORS = frozenset({"eq", "not_eq", "contains", "not_contain", "gt", "gt_eq", "lt", "lt_eq"})
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")

Predicate = Callable[[Record], bool]

URLS = Map(
    [
        Rule("/api/v2/invoices/<resource_id>/pdf", endpoint="pdf", methods=["GET"]),
        Rule("/api/v2/attachments/<resource_id>/download", endpoint="download", methods=["GET"]),
        Rule("/api/v2/<resource_type>", endpoint="collection"),
        Rule("/api/v2/<resource_type>/<resource_id>", endpoint="member"),
    ],
    strict_slashes=False,
)


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, default=_json_default, ensure_ascii=False),
        status=status,
        headers=headers or {},
        content_type=JSONAPI,
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


class ProductiveApp:
    def __init__(self, emulator: ProductiveEmulator) -> None:
        self.emu = emulator
        self.store = emulator.store

    # ------------------------------------------------------------------ WSGI entry

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        started = time.perf_counter()
        org_id: str | None = None
        try:
            response, org_id = self._handle(request)
        except ApiError as exc:
            response = _json_response(exc.status, {"errors": exc.errors}, exc.headers)
        except Exception as exc:  # an emulator bug must still look like Productive's 500
            response = _json_response(
                500, {"errors": [error_object(500, "Server Error", f"{type(exc).__name__}: {exc}")]}
            )
        self.emu.log_request(
            LoggedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.args.items()),
                status=response.status_code,
                organization_id=org_id or request.headers.get("X-Organization-Id"),
                body=self._logged_body(request),
                at=self.emu.clock.now(),
                duration_ms=(time.perf_counter() - started) * 1000,
                headers={
                    k: v
                    for k, v in request.headers.items()
                    if k.lower() in {"content-type", "accept", "user-agent", "x-organization-id"}
                },
            )
        )
        return response(environ, start_response)

    @staticmethod
    def _logged_body(request: Request) -> Any:
        if request.mimetype == "multipart/form-data":
            return {"form": dict(request.form.items()), "files": list(request.files.keys())}
        data = request.get_data(cache=True)
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return data.decode("utf-8", "replace")

    # ------------------------------------------------------------------ pipeline

    def _handle(self, request: Request) -> tuple[Response, str | None]:
        fault = self.emu.faults.take(request.method, request.path)
        latency = self.emu.faults.latency_seconds + (fault.delay_seconds if fault else 0.0)
        if latency > 0:
            time.sleep(latency)
        if fault and fault.status:
            headers = {"X-RateLimit-Reset": str(fault.reset_seconds)} if fault.status == 429 else {}
            title = {429: "Too many requests", 500: "Server Error"}.get(fault.status, "Service Unavailable")
            raise ApiError.single(fault.status, title, "Injected fault", headers=headers)

        adapter = URLS.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except HTTPException as exc:
            raise ApiError.single(404, "Not Found", f"No route matches {request.method} {request.path}") from exc

        token = self._authenticate(request)
        limited = self.emu.rate_limiter.check(token.value, token.organization_id)
        if limited:
            reset, limit, period = limited
            raise ApiError.single(
                429,
                "Too many requests",
                f"Rate limit of {limit} requests per {period:g} seconds exceeded",
                headers={"X-RateLimit-Reset": str(reset)},
                limit=limit,
                period=period,
            )
        org = self.store.org(token.organization_id)

        resource_type = "invoices" if endpoint == "pdf" else args.get("resource_type", "attachments")
        spec = SPECS.get(resource_type)
        if spec is None:
            raise ApiError.single(404, "Not Found", f"Unknown resource type {resource_type!r}")
        if spec.financial and not token.financial_access:
            raise ApiError.single(403, "Access Denied", f"You don't have permission to access {resource_type}")

        with self.store.lock:
            if endpoint == "pdf":
                return self._pdf(org, args["resource_id"]), org.id
            if endpoint == "download":
                return self._download(org, args["resource_id"]), org.id
            return self._dispatch(request, org, spec, endpoint, args.get("resource_id")), org.id

    def _authenticate(self, request: Request) -> Token:
        value = request.headers.get("X-Auth-Token")
        if not value:
            raise ApiError.single(401, "Unauthenticated", "The X-Auth-Token header is missing")
        token = self.store.tokens.get(value)
        if token is None:
            raise ApiError.single(401, "Unauthenticated", "The API token is invalid or has been revoked")
        org_header = request.headers.get("X-Organization-Id")
        if not org_header:
            raise ApiError.single(401, "Unauthenticated", "The X-Organization-Id header is missing")
        if org_header.strip() != token.organization_id:
            raise ApiError.single(403, "Access Denied", "The API token does not belong to the requested organization")
        return token

    def _dispatch(
        self, request: Request, org: Organization, spec: Spec, endpoint: str, resource_id: str | None
    ) -> Response:
        method = request.method
        action = {
            ("collection", "GET"): "list",
            ("collection", "POST"): "create",
            ("member", "GET"): "get",
            ("member", "PATCH"): "update",
            ("member", "DELETE"): "delete",
        }.get((endpoint, method))
        if action is None or action not in spec.methods:
            raise ApiError.single(405, "Method Not Allowed", f"{method} is not allowed on {request.path}")
        if action in {"create", "update"}:
            self._check_content_type(request, spec)
        if action == "list":
            return self._list(request, org, spec)
        if action == "create":
            return self._create(request, org, spec)
        assert resource_id is not None
        if action == "get":
            record = self.store.get(org, spec.type, resource_id)
            include = self._parse_include(request, spec)
            fields = self._parse_fields(request)
            body: dict[str, Any] = {"data": self._resource(request, org, spec.type, record, fields)}
            if include:
                body["included"] = self._included(request, org, spec.type, [record], include, fields)
            return _json_response(200, body)
        if action == "update":
            attributes = self._parse_document(request, spec, resource_id)
            record = self.store.update(org, spec.type, resource_id, attributes)
            return _json_response(200, {"data": self._resource(request, org, spec.type, record, None)})
        self.store.delete(org, spec.type, resource_id)
        return Response(status=204)

    @staticmethod
    def _check_content_type(request: Request, spec: Spec) -> None:
        if spec.type == "attachments" and request.mimetype == "multipart/form-data":
            return
        if request.mimetype != JSONAPI:
            raise ApiError.single(415, "Unsupported Media Type", f"Requests must use the Content-Type {JSONAPI}")
        extra = {k: v for k, v in request.mimetype_params.items() if k not in {"ext", "charset"}}
        if extra:
            raise ApiError.single(415, "Unsupported Media Type", "Media type parameters are not allowed")

    # ------------------------------------------------------------------ documents in

    def _parse_document(self, request: Request, spec: Spec, resource_id: str | None) -> dict[str, Any]:
        try:
            document = json.loads(request.get_data(cache=True) or b"null", parse_float=Decimal)
        except ValueError as exc:
            raise bad_request("Bad Request", f"The body is not valid JSON: {exc}") from exc
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, dict):
            raise ApiError.single(422, "Invalid Document", "The body must hold a data object", pointer="/data")
        if data.get("type") != spec.type:
            raise ApiError.single(409, "Conflict", f"data.type must be {spec.type!r}", pointer="/data/type")
        if resource_id is not None and "id" in data and str(data["id"]) != resource_id:
            raise ApiError.single(409, "Conflict", "data.id does not match the URL", pointer="/data/id")
        attributes = data.get("attributes") or {}
        relationships = data.get("relationships") or {}
        if not isinstance(attributes, dict) or not isinstance(relationships, dict):
            raise ApiError.single(
                422, "Invalid Document", "attributes and relationships must be objects", pointer="/data"
            )
        values: dict[str, Any] = dict(attributes)
        errors: list[dict[str, Any]] = []
        for name, linkage in relationships.items():
            rel = spec.rel(name)
            pointer = f"/data/relationships/{name}"
            if rel is None or rel.key is None:
                errors.append(
                    error_object(422, "Invalid Relationship", f"Unknown relationship {name!r}", pointer=pointer)
                )
                continue
            target = linkage.get("data") if isinstance(linkage, dict) else "invalid"
            if target is None:
                values[rel.key] = None
            elif isinstance(target, dict) and target.get("type") == rel.target and target.get("id") is not None:
                values[rel.key] = str(target["id"])
            else:
                errors.append(
                    error_object(
                        422,
                        "Invalid Relationship",
                        f"{name} must be {{'data': {{'type': '{rel.target}', 'id': ...}}}}",
                        pointer=pointer,
                    )
                )
        if errors:
            raise ApiError(422, errors)
        return values

    def _create(self, request: Request, org: Organization, spec: Spec) -> Response:
        content: bytes | None = None
        if spec.type == "attachments" and request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                raise ApiError.single(422, "Invalid Attribute", "file can't be blank", pointer="/data/attributes/file")
            content = upload.read()
            invoice_id = request.form.get("invoice_id") or (
                request.form.get("attachable_id")
                if request.form.get("attachable_type") in {"invoices", "Invoice"}
                else None
            )
            values: dict[str, Any] = {
                "name": request.form.get("name") or upload.filename,
                "content_type": upload.mimetype or "application/octet-stream",
                "invoice_id": invoice_id,
            }
        else:
            values = self._parse_document(request, spec, None)
            if spec.type == "attachments":
                encoded = values.pop("content", None)
                try:
                    content = base64.b64decode(str(encoded or ""), validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise ApiError.single(
                        422, "Invalid Attribute", "content must be base64", pointer="/data/attributes/content"
                    ) from exc
                if not content:
                    raise ApiError.single(
                        422, "Invalid Attribute", "content can't be blank", pointer="/data/attributes/content"
                    )
        record = self.store.create(org, spec.type, values)
        if content is not None:
            self.store.blobs[record["id"]] = content
        return _json_response(201, {"data": self._resource(request, org, spec.type, record, None)})

    # ------------------------------------------------------------------ documents out

    def _resource(
        self,
        request: Request,
        org: Organization,
        resource_type: str,
        record: Record,
        fields: dict[str, list[str]] | None,
    ) -> dict[str, Any]:
        wanted = (fields or {}).get(resource_type)
        resource = self.store.resource_object(org, resource_type, record, wanted)
        if resource_type == "attachments" and (wanted is None or "url" in wanted):
            resource["attributes"]["url"] = f"{request.host_url.rstrip('/')}/api/v2/attachments/{record['id']}/download"
        return resource

    @staticmethod
    def _parse_fields(request: Request) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}
        for key, value in request.args.items():
            match = re.fullmatch(r"fields\[([a-z_]+)\]", key)
            if match:
                fields[match.group(1)] = [f for f in value.split(",") if f]
        return fields

    @staticmethod
    def _parse_include(request: Request, spec: Spec) -> list[list[str]]:
        raw = request.args.get("include", "")
        paths = []
        for item in filter(None, (part.strip() for part in raw.split(","))):
            path = item.split(".")
            current: Spec | None = spec
            for name in path:
                rel = current.rel(name) if current else None
                if rel is None:
                    raise bad_request(
                        "Unsupported Include",
                        f"{item!r} is not an includable relationship of {spec.type}",
                        parameter="include",
                    )
                current = SPECS[rel.target]
            paths.append(path)
        return paths

    def _included(
        self,
        request: Request,
        org: Organization,
        resource_type: str,
        records: list[Record],
        paths: list[list[str]],
        fields: dict[str, list[str]],
    ) -> list[dict[str, Any]]:
        seen = {(resource_type, r["id"]) for r in records}
        out: list[dict[str, Any]] = []
        for path in paths:
            level = [(resource_type, r) for r in records]
            for name in path:
                next_level: list[tuple[str, Record]] = []
                for rtype, record in level:
                    for target_type, target in self.store.related(org, rtype, record, name):
                        next_level.append((target_type, target))
                        if (target_type, target["id"]) not in seen:
                            seen.add((target_type, target["id"]))
                            out.append(self._resource(request, org, target_type, target, fields))
                level = next_level
        return out

    # ------------------------------------------------------------------ lists

    def _list(self, request: Request, org: Organization, spec: Spec) -> Response:
        include = self._parse_include(request, spec)
        fields = self._parse_fields(request)
        predicate = self._parse_filters(request, org, spec)
        records = [r for r in self.store.all(org, spec.type) if predicate(r)]
        sort = request.args.get("sort")
        if sort:
            records = self._sorted(org, spec, records, sort)
        page_args = {k: v for k, v in request.args.items() if k.startswith("page[")}
        unknown = set(page_args) - {"page[number]", "page[size]", "page[after]"}
        if unknown:
            raise bad_request("Bad Request", f"Unsupported page parameter {sorted(unknown)[0]}", parameter="page")
        size = self._int_arg(page_args.get("page[size]"), DEFAULT_PAGE_SIZE, "page[size]")
        size = max(1, min(size, MAX_PAGE_SIZE))
        if "page[after]" in page_args:
            return self._keyset_page(request, org, spec, records, size, include, fields, page_args, sort)
        number = max(1, self._int_arg(page_args.get("page[number]"), 1, "page[number]"))
        total = len(records)
        total_pages = max(1, math.ceil(total / size))
        chunk = records[(number - 1) * size : number * size]
        links = {
            "self": self._page_url(request, {"page[number]": str(number), "page[size]": str(size)}),
            "first": self._page_url(request, {"page[number]": "1", "page[size]": str(size)}),
            "last": self._page_url(request, {"page[number]": str(total_pages), "page[size]": str(size)}),
        }
        if number < total_pages:
            links["next"] = self._page_url(request, {"page[number]": str(number + 1), "page[size]": str(size)})
        if number > 1:
            links["prev"] = self._page_url(request, {"page[number]": str(number - 1), "page[size]": str(size)})
        body: dict[str, Any] = {
            "data": [self._resource(request, org, spec.type, r, fields) for r in chunk],
            "links": links,
            "meta": {
                "current_page": number,
                "total_pages": total_pages,
                "total_count": total,
                "page_size": size,
                "max_page_size": MAX_PAGE_SIZE,
            },
        }
        if include:
            body["included"] = self._included(request, org, spec.type, chunk, include, fields)
        return _json_response(200, body)

    def _keyset_page(
        self,
        request: Request,
        org: Organization,
        spec: Spec,
        records: list[Record],
        size: int,
        include: list[list[str]],
        fields: dict[str, list[str]],
        page_args: dict[str, str],
        sort: str | None,
    ) -> Response:
        if "page[number]" in page_args:
            raise bad_request(
                "Keyset Conflict", "page[after] cannot be combined with page[number]", code="keyset_conflict"
            )
        if sort:
            raise bad_request(
                "Unsupported Sort", "Cursor pagination only supports the default order", code="keyset_unsupported_sort"
            )
        cursor = page_args["page[after]"]
        after = 0
        if cursor:
            try:
                after = int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["after"])
            except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                raise bad_request("Invalid Cursor", "The cursor is not valid", code="keyset_invalid_cursor") from exc
        remaining = [r for r in records if int(r["id"]) > after]
        chunk = remaining[:size]
        links = {"self": self._page_url(request, {"page[after]": cursor, "page[size]": str(size)})}
        if len(remaining) > size:
            token = base64.urlsafe_b64encode(json.dumps({"after": int(chunk[-1]["id"])}).encode()).decode()
            links["next"] = self._page_url(request, {"page[after]": token, "page[size]": str(size)})
        body: dict[str, Any] = {
            "data": [self._resource(request, org, spec.type, r, fields) for r in chunk],
            "links": links,
            "meta": {"page_size": size, "max_page_size": MAX_PAGE_SIZE},
        }
        if include:
            body["included"] = self._included(request, org, spec.type, chunk, include, fields)
        return _json_response(200, body)

    @staticmethod
    def _int_arg(value: str | None, default: int, name: str) -> int:
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError as exc:
            raise bad_request("Bad Request", f"{name} must be an integer", parameter=name) from exc

    @staticmethod
    def _page_url(request: Request, page: dict[str, str]) -> str:
        params = [(k, v) for k, v in request.args.items(multi=True) if not k.startswith("page[")]
        params.extend(page.items())
        return f"{request.base_url}?{urlencode(params)}"

    def _sorted(self, org: Organization, spec: Spec, records: list[Record], sort: str) -> list[Record]:
        keys = [k.strip() for k in sort.split(",") if k.strip()]
        for key in reversed(keys):
            name = key.lstrip("-")
            if name not in spec.sorts:
                raise bad_request(
                    "Unsupported Sort", f"Sorting {spec.type} by {name!r} is not supported", parameter="sort"
                )
            descending = key.startswith("-")

            def sort_key(record: Record, name: str = name) -> tuple[int, Any]:
                value = self.store.value_of(org, spec.type, record, name)
                if name == "id":
                    value = int(value)
                elif isinstance(value, str) and name in {"amount"}:
                    value = to_decimal(value)
                return (0, value) if value is not None else (1, 0)

            present = [r for r in records if sort_key(r)[0] == 0]
            missing = [r for r in records if sort_key(r)[0] == 1]
            present.sort(key=lambda r: sort_key(r)[1], reverse=descending)
            records = present + missing
        return records

    # ------------------------------------------------------------------ filters

    def _parse_filters(self, request: Request, org: Organization, spec: Spec) -> Predicate:
        entries: list[tuple[list[str], str]] = []
        for key, value in request.args.items(multi=True):
            if not key.startswith("filter"):
                continue
            rest = key[len("filter") :]
            segments = _SEGMENT.findall(rest)
            if not segments or "".join(f"[{s}]" for s in segments) != rest:
                raise bad_request("Unsupported Filter", f"Malformed filter parameter {key!r}", parameter=key)
            entries.append((segments, value))
        return self._build_predicate(entries, org, spec)

    def _build_predicate(self, entries: list[tuple[list[str], str]], org: Organization, spec: Spec) -> Predicate:
        op = "and"
        groups: dict[str, list[tuple[list[str], str]]] = {}
        predicates: list[Predicate] = []
        for segments, value in entries:
            head = segments[0]
            if head == "$op":
                if value not in {"and", "or"}:
                    raise bad_request(
                        "Unsupported Filter", "filter[$op] must be 'and' or 'or'", parameter="filter[$op]"
                    )
                op = value
            elif head.isdigit():
                if len(segments) < 2:
                    raise bad_request("Unsupported Filter", "A filter group needs operands", parameter="filter")
                groups.setdefault(head, []).append((segments[1:], value))
            else:
                predicates.append(self._condition(segments, value, org, spec))
        predicates.extend(self._build_predicate(group, org, spec) for _, group in sorted(groups.items()))
        if not predicates:
            return lambda record: True
        if op == "or":
            return lambda record: any(p(record) for p in predicates)
        return lambda record: all(p(record) for p in predicates)

    def _condition(self, segments: list[str], raw: str, org: Organization, spec: Spec) -> Predicate:
        name = segments[0]
        definition = spec.filters.get(name)
        param = "filter" + "".join(f"[{s}]" for s in segments)
        if definition is None:
            raise bad_request("Unsupported Filter", f"Filter {name!r} is not supported on {spec.type}", parameter=param)
        if definition.kind == "custom_fields":
            if len(segments) < 2:
                raise bad_request("Unsupported Filter", "Use filter[custom_fields][<id>]=value", parameter=param)
            field_id = segments[1]
            operator = segments[2] if len(segments) > 2 else "eq"
            self._check_operator(operator, param)
            return lambda record: _compare(
                "str", operator, (record.get("custom_fields") or {}).get(field_id), raw, param
            )
        operator = segments[1] if len(segments) > 1 else (definition.fixed_op or "eq")
        if len(segments) > 2:
            raise bad_request("Unsupported Filter", f"Malformed filter {param!r}", parameter=param)
        self._check_operator(operator, param)
        if definition.kind == "export_status":
            if raw not in {"1", "2"}:
                raise bad_request(
                    "Unsupported Filter Value", "export_status is 1 (not exported) or 2 (exported)", parameter=param
                )
            wanted = raw == "2"
            return lambda record: (
                bool(record.get("exported")) == wanted if operator == "eq" else bool(record.get("exported")) != wanted
            )
        _validate_value(definition, raw, param)
        source = definition.source or name
        store = self.store
        return lambda record: _compare(
            definition.kind, operator, store.value_of(org, spec.type, record, source), raw, param
        )

    @staticmethod
    def _check_operator(operator: str, param: str) -> None:
        if operator not in OPERATORS:
            raise bad_request("Unsupported Filter", f"Unknown filter operator {operator!r}", parameter=param)

    # ------------------------------------------------------------------ files

    def _pdf(self, org: Organization, invoice_id: str) -> Response:
        invoice = self.store.get(org, "invoices", invoice_id)
        content = render_invoice_pdf(self.store, org, invoice)
        filename = f"invoice-{invoice.get('number') or invoice['id']}.pdf"
        return Response(
            content,
            status=200,
            content_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def _download(self, org: Organization, attachment_id: str) -> Response:
        record = self.store.get(org, "attachments", attachment_id)
        content = self.store.blobs.get(attachment_id)
        if content is None:
            raise not_found("attachments", attachment_id)
        return Response(content, status=200, content_type=record.get("content_type") or "application/octet-stream")


def _validate_value(definition: Filter, raw: str, param: str) -> None:
    from datetime import date

    values = raw.split(",") if definition.kind == "id" else [raw]
    for value in values:
        try:
            if definition.kind in {"date", "datetime"}:
                date.fromisoformat(value[:10])
            elif definition.kind == "decimal" and to_decimal(value) is None:
                raise ValueError(value)
            elif definition.kind == "int":
                int(value)
            elif definition.kind == "bool" and value not in {"true", "false"}:
                raise ValueError(value)
        except ValueError as exc:
            raise bad_request(
                "Unsupported Filter Value", f"{value!r} is not a valid value for {param}", parameter=param
            ) from exc


def _compare(kind: str, operator: str, actual: Any, raw: str, param: str) -> bool:
    if kind == "id":
        wanted = {v.strip() for v in raw.split(",")}
        if operator == "eq":
            return actual is not None and str(actual) in wanted
        if operator == "not_eq":
            return actual is None or str(actual) not in wanted
    if actual is None:
        return operator in {"not_eq", "not_contain"} and raw != ""
    if isinstance(actual, list):
        text_values = [str(v) for v in actual]
        hit = raw in text_values
        return hit if operator in {"eq", "contains"} else not hit
    left: Any
    right: Any
    if kind in {"date", "datetime"}:
        left, right = str(actual)[:10], raw[:10]
    elif kind == "decimal":
        left, right = to_decimal(actual), to_decimal(raw)
    elif kind == "int":
        left, right = int(actual), int(raw)
    elif kind == "bool":
        left, right = bool(actual), raw == "true"
    else:
        left, right = str(actual), raw
    if operator == "contains":
        return str(right).lower() in str(left).lower()
    if operator == "not_contain":
        return str(right).lower() not in str(left).lower()
    if operator == "eq":
        return bool(left == right)
    if operator == "not_eq":
        return bool(left != right)
    try:
        if operator == "gt":
            return bool(left > right)
        if operator == "gt_eq":
            return bool(left >= right)
        if operator == "lt":
            return bool(left < right)
        if operator == "lt_eq":
            return bool(left <= right)
    except TypeError as exc:
        raise bad_request("Unsupported Filter", f"{operator} does not apply to {param}", parameter=param) from exc
    return False
