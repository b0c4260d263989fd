"""QuickBooks misbehaving during a request: 5xx retried, persistent 5xx and 429 become a clear 503."""

from __future__ import annotations

import pytest

from tests.integration.conftest import connect


@pytest.fixture
def us(app, stack):
    connection = connect(app, stack)
    yield connection
    stack.emulator.faults.reset()
    stack.emulator.set_throttling(enabled=False)


def test_a_passing_5xx_is_retried_and_the_caller_never_sees_it(app, stack, us) -> None:
    stack.emulator.faults.fail_next(2, status=503)
    response = app.get(f"/connections/{us.connection_id}/quickbooks/items")
    assert response.status_code == 200, response.text


def test_a_lasting_5xx_is_503_with_a_retry_hint(app, stack, us) -> None:
    stack.emulator.faults.fail_next(10, status=500)
    response = app.get(f"/connections/{us.connection_id}/quickbooks/items")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "upstream_unavailable"
    assert error["details"]["service"] == "quickbooks"
    assert response.headers["retry-after"]


def test_a_short_throttle_burst_is_waited_out(app, stack, us) -> None:
    stack.emulator.faults.throttle_next(2)
    response = app.get(f"/connections/{us.connection_id}/quickbooks/tax-codes")
    assert response.status_code == 200, response.text


def test_lasting_throttling_is_503_with_intuits_60_seconds(app, stack, us) -> None:
    stack.emulator.faults.throttle_next(5)
    response = app.get(f"/connections/{us.connection_id}/quickbooks/tax-codes")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "quickbooks_throttled"
    assert response.headers["retry-after"] == "60"
    stack.emulator.faults.reset()
    assert app.get(f"/connections/{us.connection_id}/quickbooks/tax-codes").status_code == 200
