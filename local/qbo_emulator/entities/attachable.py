"""Attachable: ``POST /upload`` (multipart, parts ``file_metadata_NN`` + ``file_content_NN``) and
``POST /attachable`` (JSON, e.g. a text note).

The multipart reader is deliberately lenient: python-quickbooks writes its body by hand with bare
``\\n`` line ends and a base64 ``Content-Transfer-Encoding``; browsers and httpx use ``\\r\\n``.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from typing import Any

from local.qbo_emulator import faults, jsonutil
from local.qbo_emulator.api import ApiContext, ApiResult, json_body, json_result
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.base import render
from local.qbo_emulator.store import Record

MAX_UPLOAD = 100 * 1024 * 1024
REF_ENTITIES = ("Invoice", "Customer", "Item", "Vendor", "Employee", "Payment", "Account")
KNOWN = {
    "AttachableRef",
    "FileName",
    "Note",
    "Category",
    "ContentType",
    "PlaceName",
    "Tag",
    "Lat",
    "Long",
    "FileAccessUri",
    "TempDownloadUri",
    "Size",
    "ThumbnailFileAccessUri",
    "ThumbnailTempDownloadUri",
}


@dataclass
class Part:
    headers: dict[str, str]
    body: bytes

    @property
    def name(self) -> str:
        return _param(self.headers.get("content-disposition", ""), "name") or ""

    @property
    def filename(self) -> str | None:
        return _param(self.headers.get("content-disposition", ""), "filename")


def _param(header: str, key: str) -> str | None:
    match = re.search(rf'(?:^|;)\s*{key}="([^"]*)"', header) or re.search(rf"(?:^|;)\s*{key}=([^;]+)", header)
    return match.group(1).strip() if match else None


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    boundary = _param(content_type, "boundary")
    if not boundary:
        raise faults.request_has_invalid_or_unsupported("multipart/form-data needs a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    parts: list[Part] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        section = chunk[2:] if chunk.startswith(b"\r\n") else chunk.lstrip(b"\n")
        head, sep, content = section.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = section.partition(b"\n\n")
        if not sep:
            continue
        headers: dict[str, str] = {}
        for raw in re.split(rb"\r?\n", head):
            name, colon, value = raw.decode("utf-8", "replace").partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        if content.endswith(b"\r\n"):
            content = content[:-2]
        elif content.endswith(b"\n"):
            content = content[:-1]
        parts.append(Part(headers, content))
    return parts


def _refs(ctx: ApiContext, data: Record) -> list[Record]:
    refs = data.get("AttachableRef") or []
    if not isinstance(refs, list):
        raise faults.request_has_invalid_or_unsupported("AttachableRef must be a list")
    out = []
    for index, ref in enumerate(refs):
        entity_ref = (ref or {}).get("EntityRef") or {}
        kind = entity_ref.get("type")
        value = common.ref_value(entity_ref)
        if kind not in REF_ENTITIES or value is None:
            raise faults.invalid_reference(str(kind), str(value), element=f"AttachableRef[{index}].EntityRef")
        if ctx.realm.get(kind, value) is None:
            raise faults.invalid_reference(kind, value, element=f"AttachableRef[{index}].EntityRef")
        clean = common.prune(dict(ref))
        clean["EntityRef"] = {"type": kind, "value": value}
        clean["IncludeOnSend"] = ref.get("IncludeOnSend") is True
        out.append(clean)
    return out


def _download_url(ctx: ApiContext, attachable_id: str, token: str) -> str:
    base = ctx.request.host_url.rstrip("/")
    return f"{base}/v3/download/{ctx.realm.realm_id}/{attachable_id}/{token}"


def _store(
    ctx: ApiContext, data: Record, content: bytes | None, filename: str | None, content_type: str | None
) -> Record:
    common.check_known(data, KNOWN, "Attachable")
    record: Record = common.prune(
        {
            k: v
            for k, v in data.items()
            if k in KNOWN
            and k
            not in ("FileAccessUri", "TempDownloadUri", "Size", "ThumbnailFileAccessUri", "ThumbnailTempDownloadUri")
        }
    )
    record["AttachableRef"] = _refs(ctx, data)
    common.stamp_new(ctx, record, "Attachable")
    if content is not None:
        record["FileName"] = data.get("FileName") or filename or f"attachment-{record['Id']}"
        record["ContentType"] = data.get("ContentType") or content_type or "application/octet-stream"
        record["Size"] = len(content)
        token = secrets.token_urlsafe(16)
        record["_content"] = content
        record["_token"] = token
        record["FileAccessUri"] = f"/v3/company/{ctx.realm.realm_id}/download/{record['Id']}"
        record["TempDownloadUri"] = _download_url(ctx, record["Id"], token)
    elif not record.get("Note"):
        raise faults.required_param("Note", "Attachable")
    ctx.realm.put("Attachable", record)
    ctx.emit("Attachable", record["Id"], "Create")
    return record


def upload(ctx: ApiContext) -> ApiResult:
    if ctx.request.method != "POST":
        raise faults.unsupported_operation("upload accepts POST only", status=405)
    raw = ctx.request.get_data(cache=True)
    if len(raw) > MAX_UPLOAD:
        raise faults.validation("2060", "Request too large", "The upload request is larger than 100 MB")
    parts = parse_multipart(raw, ctx.request.headers.get("Content-Type", ""))
    metadata: dict[str, Record] = {}
    contents: dict[str, Part] = {}
    for part in parts:
        match = re.fullmatch(r"file_(metadata|content)_(\d+)", part.name)
        if not match:
            continue
        kind, number = match.groups()
        if kind == "metadata":
            try:
                parsed = jsonutil.loads(part.body.decode("utf-8").strip())
            except (ValueError, UnicodeDecodeError) as exc:
                raise faults.request_has_invalid_or_unsupported(f"file_metadata_{number} is not JSON") from exc
            if not isinstance(parsed, dict):
                raise faults.request_has_invalid_or_unsupported(f"file_metadata_{number} must be an object")
            metadata[number] = parsed.get("Attachable", parsed)
        else:
            contents[number] = part
    if not contents:
        raise faults.required_param("file_content_01", "Attachable")
    responses: list[dict[str, Any]] = []
    with ctx.realm.lock:
        for number in sorted(contents):
            part = contents[number]
            content = part.body
            if part.headers.get("content-transfer-encoding", "").lower() == "base64":
                try:
                    content = base64.b64decode(re.sub(rb"\s+", b"", content), validate=True)
                except binascii.Error as exc:
                    raise faults.request_has_invalid_or_unsupported(
                        f"file_content_{number} is not valid base64"
                    ) from exc
            part_type = part.headers.get("content-type", "").split(";")[0].strip() or None
            try:
                record = _store(ctx, metadata.get(number, {}), content, part.filename, part_type)
            except faults.QboFault as fault:
                responses.append({"Fault": fault.fault()})
                continue
            responses.append({"Attachable": render(record)})
    return json_result(ctx, {"AttachableResponse": responses})


def write(ctx: ApiContext) -> ApiResult:
    body = json_body(ctx)
    op = common.operation(ctx)
    realm = ctx.realm
    with realm.lock:
        if op == "delete":
            previous = common.existing_for_write(ctx, body, "Attachable")
            realm.remove("Attachable", str(previous["Id"]), ctx.now)
            ctx.emit("Attachable", str(previous["Id"]), "Delete")
            return json_result(ctx, {"Attachable": {"Id": str(previous["Id"]), "status": "Deleted", "domain": "QBO"}})
        if body.get("Id") not in (None, ""):
            previous = common.existing_for_write(ctx, body, "Attachable")
            record = common.merged_for_sparse(previous, body) if common.is_sparse(body) else dict(previous)
            if not common.is_sparse(body):
                for key in ("Note", "Category", "Tag", "FileName"):
                    if key in body:
                        record[key] = body[key]
            record["AttachableRef"] = _refs(ctx, body) if "AttachableRef" in body else previous["AttachableRef"]
            common.stamp_update(ctx, record, previous)
            realm.put("Attachable", record)
            ctx.emit("Attachable", record["Id"], "Update")
        else:
            record = _store(ctx, body, None, None, None)
        return common.entity_result(ctx, "Attachable", record)


def download(realm_record: Record | None, token: str) -> tuple[bytes, str] | None:
    if realm_record is None or realm_record.get("_token") != token:
        return None
    return realm_record["_content"], str(realm_record.get("ContentType", "application/octet-stream"))
