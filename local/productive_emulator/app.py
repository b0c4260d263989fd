"""The WSGI application: Productive's JSON:API under /api/v2."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.productive_emulator.control import LoggedRequest
from local.productive_emulator.errors import ApiError, bad_request, error_object, not_found
from local.productive_emulator.listing import list_page
from local.productive_emulator.pdf import render_invoice_pdf
from local.productive_emulator.resources import SPECS, Spec
from local.productive_emulator.store import Organization, Record, Token

if TYPE_CHECKING:
    from local.productive_emulator.emulator import ProductiveEmulator

JSONAPI = "application/vnd.api+json"

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
        page = list_page(self.store, org, spec, request.args, request.base_url)
        body: dict[str, Any] = {
            "data": [self._resource(request, org, spec.type, r, fields) for r in page.records],
            "links": page.links,
            "meta": page.meta,
        }
        if include:
            body["included"] = self._included(request, org, spec.type, page.records, include, fields)
        return _json_response(200, body)

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
