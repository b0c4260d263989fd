"""The copy job rules that need no I/O: what a job may hold, its ids, its queue message."""

from __future__ import annotations

import pytest

from qbosync.domain.copy_jobs import (
    MAX_JOB_INVOICES,
    batch_request_id,
    checked_invoice_ids,
    decode_job_message,
    encode_job_message,
    job_id_for,
)
from qbosync.domain.errors import InvalidInput
from qbosync.domain.quickbooks_batch import BATCH_REQUEST_ID_MAX_LENGTH


def test_a_job_takes_1_to_500_distinct_ids() -> None:
    assert checked_invoice_ids(["1", " 2 "]) == ("1", "2")
    assert len(checked_invoice_ids([str(i) for i in range(MAX_JOB_INVOICES)])) == MAX_JOB_INVOICES
    for ids, code in (
        ([], "no_invoices"),
        ([str(i) for i in range(MAX_JOB_INVOICES + 1)], "too_many_invoices"),
        (["1", "2", "1", "3", "3"], "duplicate_invoice_ids"),
        (["1", " "], "invalid_invoice_id"),
    ):
        with pytest.raises(InvalidInput) as refused:
            checked_invoice_ids(ids)
        assert refused.value.code == code
    with pytest.raises(InvalidInput) as repeated:
        checked_invoice_ids(["1", "2", "1", "3", "3"])
    assert repeated.value.details == {"invoice_ids": ["1", "3"]}


def test_the_same_key_of_the_same_connection_is_the_same_job() -> None:
    assert job_id_for("c1", "key") == job_id_for("c1", "key")
    assert job_id_for("c1", "key") != job_id_for("c2", "key")
    assert job_id_for("c1", None) != job_id_for("c1", None)


def test_a_batch_request_id_is_deterministic_and_fits_quickbooks_limit() -> None:
    first = batch_request_id("job", 1)
    assert first == batch_request_id("job", 1) != batch_request_id("job", 2)
    assert len(first) <= BATCH_REQUEST_ID_MAX_LENGTH


def test_a_job_message_round_trips_and_anything_else_is_refused() -> None:
    assert decode_job_message(encode_job_message("c1", "j1")) == ("c1", "j1")
    for body in ("", "{}", "[1]", '{"connection_id": "c1"}', "not json"):
        with pytest.raises(ValueError, match="copy job"):
            decode_job_message(body)
