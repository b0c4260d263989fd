"""Attachable upload (multipart) and notes."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from tests.emulators.qbo.helpers import Api


def invoice_id(api: Api) -> str:
    body = {
        "CustomerRef": {"value": "1"},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 75,
                "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 1, "UnitPrice": 75},
            }
        ],
    }
    return str(api.post("invoice", body).json()["Invoice"]["Id"])


def test_upload_multipart_with_metadata(us: Api) -> None:
    target = invoice_id(us)
    metadata = {
        "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": target}, "IncludeOnSend": False}],
        "FileName": "receipt.txt",
        "ContentType": "text/plain",
    }
    files: dict[str, Any] = {
        "file_metadata_01": (None, json.dumps(metadata), "application/json"),
        "file_content_01": ("receipt.txt", b"hello receipt", "text/plain"),
    }
    response = us.http.post(f"{us.base}/upload", params={"minorversion": "75"}, files=files, headers=us.headers())
    assert response.status_code == 200, response.text
    attachable = response.json()["AttachableResponse"][0]["Attachable"]
    assert attachable["FileName"] == "receipt.txt"
    assert attachable["Size"] == 13
    assert attachable["AttachableRef"][0]["EntityRef"] == {"type": "Invoice", "value": target}
    download = httpx.get(attachable["TempDownloadUri"])
    assert download.content == b"hello receipt"
    rows = us.rows(f"select * from Attachable where AttachableRef.EntityRef.value = '{target}'")
    assert [row["Id"] for row in rows] == [attachable["Id"]]


def test_upload_base64_bare_newlines_like_python_quickbooks(us: Api) -> None:
    target = invoice_id(us)
    boundary = "-------------PythonMultipartPost"
    metadata = json.dumps(
        {
            "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": target}}],
            "FileName": "a.pdf",
            "ContentType": "application/pdf",
        }
    )
    payload = base64.b64encode(b"%PDF-1.4 fake").decode()
    body = (
        f'\n--{boundary}\nContent-Disposition: form-data; name="file_metadata_01"\n'
        f"Content-Type: application/json\n\n{metadata}\n\n--{boundary}\n"
        f'Content-Disposition: form-data; name="file_content_01"\nContent-Type: application/pdf\n'
        f"Content-Transfer-Encoding: base64\n\n{payload}\n\n--{boundary}--\n"
    )
    response = us.http.post(
        f"{us.base}/upload",
        content=body.encode(),
        headers=us.headers({"Content-Type": f"multipart/form-data; boundary={boundary}"}),
    )
    assert response.status_code == 200, response.text
    attachable = response.json()["AttachableResponse"][0]["Attachable"]
    assert httpx.get(attachable["TempDownloadUri"]).content == b"%PDF-1.4 fake"
    assert attachable["ContentType"] == "application/pdf"


def test_upload_to_missing_entity_is_a_fault_item(us: Api) -> None:
    metadata = {"AttachableRef": [{"EntityRef": {"type": "Invoice", "value": "999999"}}], "FileName": "x.txt"}
    files: dict[str, Any] = {
        "file_metadata_01": (None, json.dumps(metadata), "application/json"),
        "file_content_01": ("x.txt", b"x", "text/plain"),
    }
    response = us.http.post(f"{us.base}/upload", files=files, headers=us.headers())
    assert response.status_code == 200
    assert response.json()["AttachableResponse"][0]["Fault"]["Error"][0]["code"] == "2500"


def test_note_attachable(us: Api) -> None:
    target = invoice_id(us)
    response = us.post(
        "attachable",
        {"Note": "call back Tuesday", "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": target}}]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["Attachable"]["Note"] == "call back Tuesday"
