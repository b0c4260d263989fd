"""Bulk copy jobs through the real path: signed HTTP → gateway → copy_invoice (submit) → SQS → copy_jobs
(the worker, fed by draining the queue) → both emulators over sockets, state in moto (README "Bulk copy")."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.integration.conftest import connect
from tests.integration.copy_world import World


@pytest.fixture(scope="module")
def paused_pollers(stack: Any) -> Iterator[None]:
    """The stack's background SQS pollers stopped for this module (the tests drain the queues themselves,
    failed messages visible again at once); nothing else about the stack changes."""
    gateway = stack.gateway
    for poller in gateway._pollers:
        poller.stop()
    gateway._pollers.clear()
    yield
    gateway.start_sqs_pollers(sqs_client=stack.aws.client("sqs"))


@pytest.fixture(scope="module")
def jobs_realm(stack: Any) -> str:
    """A US company of its own: what these tests do to Intuit's authorization (a revoked grant) and to
    the company's throttles stays away from the other tests' shared companies."""
    return str(stack.emulator.add_company("US"))


@pytest.fixture
def jobs(app: Any, stack: Any, productive: Any, jobs_realm: str, paused_pollers: None) -> Iterator[World]:
    us = World(app, stack, productive, jobs_realm)
    yield us
    # A job a test left unfinished (queued again with a delay) must not run during a later test: its
    # message, when it comes, finds the job done and is dropped.
    table = boto3.resource("dynamodb", endpoint_url=us.stack.aws.endpoint_url).Table(os.environ["TABLE_NAME"])
    for job in us.app.get(f"/connections/{us.cid}/copy-jobs").json()["items"]:
        if job["status"] != "done":
            table.update_item(
                Key={"pk": f"COPYJOB#{job['job_id']}", "sk": "JOB"},
                UpdateExpression="SET #status = :done",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":done": "done"},
            )


def drain(stack: Any, rounds: int = 20) -> int:
    """The copy jobs queue fed to its worker until nothing is visible (failed messages visible again at
    once); only this queue, so other tests' connections are left alone."""
    handled = 0
    for _ in range(rounds):
        pollers = stack.gateway.sqs_pollers(sqs_client=stack.aws.client("sqs"), failure_visibility_timeout=0)
        count = sum(poller.drain() for poller in pollers if poller.function_id == "CopyJobsFunction")
        handled += count
        if not count:
            break
    return handled


def _invoices(
    world: World, count: int, *, service: str = "Design", price: str = "100", number: str | None = None
) -> list[str]:
    """`count` invoices of Acme, each numbered (`number`, or a number of its own)."""
    return [
        str(
            world.productive.create_invoice(
                world.demo.organization_id,
                world.demo.company_acme_id,
                currency="USD",
                subsidiary_id=world.demo.subsidiary_us_id,
                number=number or f"J-{uuid.uuid4().hex[:10]}",
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


def _finished(world: World, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Drain the queues until the job is done (a job queued again with a delay comes back later)."""
    started = time.monotonic()
    while (job := _job(world, job_id))["status"] != "done":
        assert time.monotonic() - started < timeout, job
        drain(world.stack)
        time.sleep(0.5)
    return job


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


def test_a_job_of_120_fails_items_alone_and_copies_the_rest(jobs: World) -> None:
    # Consulting is not mapped: its invoices fail alone. Productive's numbers go to QuickBooks.
    services = jobs.demo.service_type_ids
    jobs.configure(
        default_item_id=None,
        invoice_numbering="productive",
        service_type_items={services["Design"]: "2", services["Development"]: "3"},
    )
    good = _invoices(jobs, 110)
    unmapped = _invoices(jobs, 5, service="Consulting")
    # QuickBooks already has an invoice with each of these numbers: its own validation fault, per item.
    taken = []
    for _ in range(3):
        number = f"T-{uuid.uuid4().hex[:8]}"
        [first] = _invoices(jobs, 1, number=number)
        copied = jobs.copy(first)
        assert copied.status_code == 201, copied.text
        taken += _invoices(jobs, 1, number=number)
    unknown = ["999999991", "999999992"]
    accepted = _submit(jobs, [*good, *unmapped, *taken, *unknown])
    assert accepted.status_code == 202, accepted.text

    drain(jobs.stack)

    job = _job(jobs, accepted.json()["job_id"])
    items = {item["invoice_id"]: item for item in job["items"]}
    assert job["copied"] == 110, [item["error"] for item in job["items"]][:3]
    assert (job["status"], job["total"], job["copied"], job["failed"], job["pending"]) == ("done", 120, 110, 10, 0)
    assert {items[i]["error"]["code"] for i in unmapped} == {"unmapped_service_type"}
    assert {items[i]["error"]["code"] for i in unknown} == {"not_found"}
    for invoice_id in taken:
        error = items[invoice_id]["error"]
        assert error["code"] == "quickbooks_6140", error
        assert "Duplicate" in error["message"]
        assert jobs.qbo_invoices(invoice_id) == []
        assert not jobs.productive.invoice(invoice_id)["export_id"]
    for invoice_id in good:
        assert len(jobs.qbo_invoices(invoice_id)) == 1
        assert items[invoice_id]["copy"]["quickbooks_id"] == jobs.qbo_invoices(invoice_id)[0]["Id"]
    # Every invoice is free again: a new job for the failed ones is accepted.
    assert _submit(jobs, unmapped).status_code == 202
    drain(jobs.stack)


def test_a_batch_whose_answer_was_lost_is_sent_again_and_makes_one_invoice_each(jobs: World) -> None:
    invoice_ids = _invoices(jobs, 4)
    accepted = _submit(jobs, invoice_ids)
    jobs.stack.emulator.reset_request_log()
    # QuickBooks commits the batch, then every answer to it is lost, the adapter's retries included: the
    # worker fails with the batch recorded and unanswered, between QuickBooks' create and our write-back.
    # The message comes back, and the next run sends exactly that batch again.
    jobs.stack.emulator.faults.commit_then_drop_next(20)
    try:
        drain(jobs.stack)
    finally:
        jobs.stack.emulator.faults.reset()
    job = _finished(jobs, accepted.json()["job_id"])  # the round stopped; the job came back 10 s later
    batches = [path for _, path, _ in jobs.stack.emulator.request_log if "/batch" in path]
    dropped = [path for _, path, status in jobs.stack.emulator.request_log if "/batch" in path and status == 0]
    assert dropped, "no batch answer was lost: the test tested nothing"
    assert len(set(batches)) == 1, batches  # one requestid, sent again and again
    assert len(batches) > len(dropped)  # and finally answered (replayed)
    assert (job["status"], job["copied"]) == ("done", 4)
    for invoice_id in invoice_ids:
        [qbo] = jobs.qbo_invoices(invoice_id)
        assert jobs.productive.invoice(invoice_id)["export_id"] == qbo["Id"]
        assert len(jobs.history(invoice_id)) == 1


def test_a_write_back_that_fails_is_finished_by_a_later_round_from_the_marker(jobs: World) -> None:
    invoice_ids = _invoices(jobs, 3)
    accepted = _submit(jobs, invoice_ids)
    jobs.productive.faults.fail_next(30, status=503, method="PATCH")  # every write-back, retries included
    try:
        drain(jobs.stack, rounds=1)
    finally:
        jobs.productive.faults.clear()
    assert _job(jobs, accepted.json()["job_id"])["pending"] == 3
    job = _finished(jobs, accepted.json()["job_id"])  # the job comes back after its retry delay
    assert (job["status"], job["copied"]) == ("done", 3)
    for invoice_id in invoice_ids:
        [qbo] = jobs.qbo_invoices(invoice_id)
        assert jobs.productive.invoice(invoice_id)["export_id"] == qbo["Id"]


def test_a_429_burst_in_the_middle_of_a_job_is_waited_out(jobs: World) -> None:
    invoice_ids = _invoices(jobs, 35)  # two batches
    accepted = _submit(jobs, invoice_ids)
    jobs.stack.emulator.faults.throttle_next(2)
    try:
        drain(jobs.stack)
    finally:
        jobs.stack.emulator.faults.reset()
    job = _job(jobs, accepted.json()["job_id"])
    assert (job["status"], job["copied"]) == ("done", 35)
    assert all(len(jobs.qbo_invoices(invoice_id)) == 1 for invoice_id in invoice_ids)


def test_a_single_copy_racing_a_job_makes_one_invoice_and_a_second_job_is_refused(jobs: World) -> None:
    [invoice_id] = _invoices(jobs, 1)
    accepted = _submit(jobs, [invoice_id])
    assert _submit(jobs, [invoice_id], key=uuid.uuid4().hex).status_code == 409
    statuses: list[int] = []
    worker = threading.Thread(target=drain, args=(jobs.stack,))
    worker.start()
    for _ in range(3):
        statuses.append(jobs.copy(invoice_id).status_code)
    worker.join()
    job = _finished(jobs, accepted.json()["job_id"])  # an invoice the single copy held comes back later
    assert set(statuses) <= {201, 409}
    assert len(jobs.qbo_invoices(invoice_id)) == 1
    assert job["copied"] == 1


def test_needs_reconnect_is_409_at_submit_and_fails_what_is_pending_when_it_breaks_mid_job(jobs: World) -> None:
    from tests.integration.test_tokens import _revoke_at_intuit, _secret

    invoice_ids = _invoices(jobs, 3)
    accepted = _submit(jobs, invoice_ids)
    _revoke_at_intuit(jobs.stack, _secret(jobs.stack, jobs.cid)["qbo"]["refresh_token"])
    jobs.stack.emulator.clock.advance(3700)
    try:
        drain(jobs.stack)
        refused = _submit(jobs, _invoices(jobs, 1))
    finally:
        jobs.stack.emulator.clock.advance(-3700)
    # The user reconnects: Intuit's authorization of the shared company is alive again for later tests.
    connect(
        jobs.app,
        jobs.stack,
        realm_id=jobs.realm,
        org=jobs.demo.organization_id,
        sub=jobs.demo.subsidiary_us_id,
        productive_token=jobs.demo.api_token,
    )
    job = _job(jobs, accepted.json()["job_id"])
    assert (job["status"], job["failed"]) == ("done", 3), job
    assert {item["error"]["code"] for item in job["items"]} == {"needs_reconnect"}, job["items"]
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "needs_reconnect"
