"""Bulk copy jobs through the real path: signed HTTP → gateway → copy_invoice (submit) → SQS → copy_jobs
(the worker, fed by draining the queue) → both emulators over sockets, state in moto (README "Bulk copy")."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from local.qbo_payments import drain
from tests.integration.copy_world import World
from tests.integration.test_payment_sync import quiet_pollers  # noqa: F401 (fixture)


@pytest.fixture
def jobs(us: World, quiet_pollers: None) -> World:  # noqa: F811
    return us


def _invoices(world: World, count: int, *, service: str = "Design", price: str = "100") -> list[str]:
    return [
        str(
            world.productive.create_invoice(
                world.demo.organization_id,
                world.demo.company_acme_id,
                currency="USD",
                subsidiary_id=world.demo.subsidiary_us_id,
                line_items=[
                    {
                        "description": f"Work {index}",
                        "quantity": "2",
                        "unit_price": price,
                        "service_type_id": world.demo.service_type_ids[service],
                        "tax_rate_id": world.demo.tax_rate_us_exempt_id,
                    }
                ],
            )
        )
        for index in range(count)
    ]


def _submit(world: World, invoice_ids: list[str], key: str | None = None, mode: str = "update") -> Any:
    headers = {"Idempotency-Key": key} if key else None
    return world.app.post(
        f"/connections/{world.cid}/copy-jobs", {"invoice_ids": invoice_ids, "mode": mode}, headers=headers
    )


def _job(world: World, job_id: str) -> dict[str, Any]:
    response = world.app.get(f"/connections/{world.cid}/copy-jobs/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_small_job_copies_each_invoice_as_a_single_copy_would(jobs: World) -> None:
    invoice_ids = _invoices(jobs, 3)
    accepted = _submit(jobs, [*invoice_ids, "999999999"])
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert (body["status"], body["total"]) == ("queued", 4)
    queued = _job(jobs, body["job_id"])
    assert (queued["status"], queued["pending"], queued["copied"]) == ("queued", 4, 0)

    drain(jobs.stack)

    job = _job(jobs, body["job_id"])
    assert (job["status"], job["copied"], job["failed"], job["pending"]) == ("done", 3, 1, 0)
    assert job["started_at"]
    assert job["finished_at"]
    by_id = {item["invoice_id"]: item for item in job["items"]}
    assert [item["invoice_id"] for item in job["items"]] == [*invoice_ids, "999999999"]
    assert by_id["999999999"]["status"] == "failed"
    assert by_id["999999999"]["error"]["code"] == "not_found"
    assert by_id["999999999"]["copy"] is None
    for invoice_id in invoice_ids:
        item = by_id[invoice_id]
        assert item["status"] == "copied"
        [qbo] = jobs.qbo_invoices(invoice_id)
        assert item["copy"]["quickbooks_id"] == qbo["Id"]
        [history] = jobs.history(invoice_id)
        assert history["copy_id"] == item["copy"]["copy_id"]
        assert jobs.productive.invoice(invoice_id)["export_id"] == qbo["Id"]
    listed = jobs.app.get(f"/connections/{jobs.cid}/copy-jobs").json()["items"]
    assert listed[0]["job_id"] == body["job_id"]
    assert "items" not in listed[0]


def test_the_same_key_gives_the_same_job_and_a_claimed_invoice_is_refused(jobs: World) -> None:
    invoice_ids = _invoices(jobs, 2)
    key = uuid.uuid4().hex
    first = _submit(jobs, invoice_ids, key)
    again = _submit(jobs, invoice_ids, key)
    assert first.status_code == again.status_code == 202
    assert first.json()["job_id"] == again.json()["job_id"]
    taken = _submit(jobs, [invoice_ids[1], *_invoices(jobs, 1)])
    assert taken.status_code == 409, taken.text
    assert taken.json()["error"]["code"] == "invoice_in_running_job"
    assert taken.json()["error"]["details"]["invoice_ids"] == [invoice_ids[1]]
    drain(jobs.stack)
    assert _job(jobs, first.json()["job_id"])["copied"] == 2
    assert _submit(jobs, [invoice_ids[1]]).status_code == 202  # free again once copied
    drain(jobs.stack)


@pytest.mark.parametrize(
    ("invoice_ids", "code"),
    [([], "no_invoices"), (["1", "1"], "duplicate_invoice_ids"), ([str(i) for i in range(501)], "too_many_invoices")],
)
def test_bad_job_requests_are_422_and_leave_nothing(jobs: World, invoice_ids: list[str], code: str) -> None:
    refused = _submit(jobs, invoice_ids)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == code
    assert jobs.app.get(f"/connections/{jobs.cid}/copy-jobs").json()["items"] == []


def test_unknown_connection_and_another_connections_job_are_404(jobs: World) -> None:
    unknown = str(uuid.uuid4())
    assert jobs.app.post(f"/connections/{unknown}/copy-jobs", {"invoice_ids": ["1"]}).status_code == 404
    assert jobs.app.get(f"/connections/{jobs.cid}/copy-jobs/{uuid.uuid4()}").status_code == 404
