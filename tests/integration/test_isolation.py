"""Tests share one stack per session: what a test sets on it must not reach the next test."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.integration.conftest import follow_consent, knobs_put_back, outcome, start_connection, wiring


def test_what_a_test_sets_on_the_emulators_is_put_back(app, stack, productive) -> None:
    emulator = stack.emulator
    drift = emulator.clock.now() - datetime.now(UTC)
    lifetimes = emulator.oauth.lifetimes.__dict__.copy()
    with knobs_put_back(stack, productive):
        emulator.clock.advance(25 * 3600)
        emulator.clock.freeze()
        emulator.faults.latency(2)
        emulator.faults.fail_next(3)
        emulator.faults.throttle_next(3)
        emulator.faults.commit_then_drop_next(3)
        emulator.faults.fail_next_token_requests(3)
        emulator.faults.commit_then_drop_next_token_requests(3)
        emulator.set_token_lifetimes(access_seconds=3, refresh_seconds=60, hard_seconds=120)
        emulator.set_rotation("intuit")
        emulator.set_throttling(enabled=True)
        emulator.next_consent(realm_id=emulator.UK_REALM, deny=True)
        productive.faults.fail_next(5, status=503)
        stack.shift_service_clock(hours=25)
    assert emulator.faults.pending() == {}
    assert abs((emulator.clock.now() - datetime.now(UTC) - drift).total_seconds()) < 1
    assert emulator.oauth.lifetimes.__dict__ == lifetimes
    assert emulator.oauth.rotation == "strict"
    assert emulator.throttle.enabled is False
    assert productive.faults.pending == 0
    assert abs((wiring().clock.now() - datetime.now(UTC)).total_seconds()) < 1
    # The consent is the default one again: the next connection is approved, for the US company.
    started = start_connection(app)
    assert outcome(follow_consent(stack, started["authorize_url"]))["status"] == "connected"
    assert app.get(f"/connections/{started['connection_id']}").json()["realm_id"] == emulator.US_REALM
