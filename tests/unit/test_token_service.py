from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from qbosync.adapters.intuit_oauth import REFRESH_BUDGET_SECONDS
from qbosync.domain.connection import ConnectionSecret, ConnectionStatus
from qbosync.domain.errors import ConnectionNotReady, NotFound, ReauthorizationRequired, RefreshOutcomeUnknown
from qbosync.services.tokens import REFRESH_LEASE, TokenService, next_refresh_at
from tests.fakes import FakeClock, InMemoryRepository, InMemoryVault, StrictRotatingOAuth, connected


@pytest.fixture
def world() -> tuple[TokenService, InMemoryRepository, InMemoryVault, StrictRotatingOAuth, FakeClock]:
    clock = FakeClock()
    repo, vault, oauth = InMemoryRepository(), InMemoryVault(), StrictRotatingOAuth(clock)
    repo.save(connected(clock=clock))
    vault.write("c1", ConnectionSecret(productive_api_token="p", tokens=oauth.issue()))
    service = TokenService(repository=repo, vault=vault, oauth=oauth, clock=clock, sleep=lambda _: None)
    return service, repo, vault, oauth, clock


def test_fresh_access_token_is_used_without_refreshing(world) -> None:
    service, _, _, oauth, _ = world
    assert service.access_token("c1") == "access-1"
    assert oauth.refresh_calls == 0


def test_expiring_access_token_is_refreshed_and_saved_before_use(world) -> None:
    service, repo, vault, oauth, clock = world
    clock.advance(minutes=56)
    token = service.access_token("c1")
    assert token == "access-2"
    assert vault.read("c1").tokens.refresh_token == "refresh-2"
    assert repo.get("c1").access_expires_at == clock.now() + timedelta(hours=1)
    assert oauth.refresh_calls == 1


def test_a_rejected_access_token_forces_one_refresh_even_if_not_expired(world) -> None:
    service, _, _, oauth, _ = world
    assert service.refresh("c1", rejected_access_token="access-1").access_token == "access-2"
    # A second worker that was rejected with the same old token reuses the new one.
    assert service.refresh("c1", rejected_access_token="access-1").access_token == "access-2"
    assert oauth.refresh_calls == 1


def test_concurrent_refreshes_make_one_call_to_intuit(world) -> None:
    service, repo, _, oauth, clock = world
    clock.advance(minutes=59)
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def worker() -> None:
        barrier.wait()
        try:
            results.append(service.access_token("c1"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(results) == {"access-2"}
    assert oauth.refresh_calls == 1
    assert repo.get("c1").status is ConnectionStatus.CONNECTED


def test_invalid_grant_marks_needs_reconnect_without_retrying(world) -> None:
    service, repo, _, oauth, clock = world
    oauth.valid_refresh.clear()  # e.g. revoked inside QuickBooks
    clock.advance(hours=2)
    with pytest.raises(ReauthorizationRequired):
        service.access_token("c1")
    assert oauth.refresh_calls == 1
    assert repo.get("c1").status is ConnectionStatus.NEEDS_RECONNECT
    assert repo.get("c1").status_reason == "invalid_grant"
    with pytest.raises(ConnectionNotReady):
        service.access_token("c1")


def test_invalid_grant_is_not_believed_when_another_worker_rotated_meanwhile(world) -> None:
    service, repo, vault, oauth, clock = world
    clock.advance(hours=2)
    stale = vault.read("c1")
    original_refresh = oauth.refresh

    def rotate_behind_our_back(token: str):
        # Another process (whose lease had expired) refreshes first and saves its tokens.
        fresh = oauth.issue()
        vault.write("c1", stale.with_tokens(fresh))
        return original_refresh(token)

    oauth.refresh = rotate_behind_our_back
    assert service.access_token("c1") == "access-2"
    assert repo.get("c1").status is ConnectionStatus.CONNECTED


def test_scheduled_refresh_only_touches_due_connections(world) -> None:
    service, repo, _, oauth, clock = world
    assert service.refresh_due().refreshed == []
    clock.advance(hours=25)
    report = service.refresh_due()
    assert report.refreshed == ["c1"]
    assert oauth.refresh_calls == 1
    assert repo.get("c1").next_refresh_at > clock.now()


def test_scheduled_refresh_reports_connections_intuit_refuses(world) -> None:
    service, repo, _, oauth, clock = world
    oauth.valid_refresh.clear()
    clock.advance(hours=25)
    report = service.refresh_due()
    assert report.needs_reconnect == ["c1"]
    assert repo.get("c1").status is ConnectionStatus.NEEDS_RECONNECT


def test_unknown_and_pending_connections_are_clear_errors(world) -> None:
    service, repo, _, _, clock = world
    with pytest.raises(NotFound):
        service.access_token("nope")
    repo.save(connected("c2", clock=clock).with_changes(status=ConnectionStatus.PENDING))
    with pytest.raises(ConnectionNotReady):
        service.access_token("c2")


def test_next_refresh_is_daily_but_inside_a_short_rolling_window(world) -> None:
    _, _, _, oauth, clock = world
    tokens = oauth.issue()
    assert next_refresh_at(clock.now(), tokens) == clock.now() + timedelta(hours=24)
    short = tokens.__class__(
        access_token="a",
        refresh_token="r",
        access_expires_at=clock.now(),
        refresh_expires_at=clock.now() + timedelta(hours=10),
    )
    assert next_refresh_at(clock.now(), short) == clock.now() + timedelta(hours=5)


def _answers_lost(oauth: Any, acted: list[bool]) -> list[str]:
    """Intuit's answers to the next refreshes are lost; `acted`: whether Intuit had rotated first.
    Returns the refresh tokens sent, in order."""
    original = oauth.refresh
    sent: list[str] = []

    def refresh(token: str):
        sent.append(token)
        if acted:
            if acted.pop(0):
                original(token)
            raise RefreshOutcomeUnknown("answer lost", service="quickbooks")
        return original(token)

    oauth.refresh = refresh
    return sent


def test_a_lost_answer_intuit_had_not_acted_on_is_sent_once_more_and_works(world) -> None:
    service, repo, vault, oauth, clock = world
    clock.advance(hours=2)
    sent = _answers_lost(oauth, [False])
    assert service.access_token("c1") == "access-2"
    assert sent == ["refresh-1", "refresh-1"]
    assert vault.read("c1").tokens.refresh_token == "refresh-2"
    assert repo.get("c1").status is ConnectionStatus.CONNECTED


def test_a_lost_answer_after_a_rotation_is_sent_once_more_not_in_a_loop(world) -> None:
    service, repo, _, oauth, clock = world
    clock.advance(hours=2)
    sent = _answers_lost(oauth, [True])
    with pytest.raises(ReauthorizationRequired):
        service.access_token("c1")
    # The successor existed only in the lost answer: nobody can use it, so the user must reconnect.
    assert sent == ["refresh-1", "refresh-1"]
    assert repo.get("c1").status is ConnectionStatus.NEEDS_RECONNECT


def test_two_lost_answers_are_a_503_and_the_connection_waits_for_a_later_refresh(world) -> None:
    service, repo, _, oauth, clock = world
    clock.advance(hours=2)
    sent = _answers_lost(oauth, [False, False])
    with pytest.raises(RefreshOutcomeUnknown):
        service.access_token("c1")
    assert sent == ["refresh-1", "refresh-1"]
    assert repo.get("c1").status is ConnectionStatus.CONNECTED
    assert service.access_token("c1") == "access-2"


def test_a_lost_answer_is_not_resent_when_another_worker_saved_new_tokens(world) -> None:
    service, repo, vault, oauth, clock = world
    clock.advance(hours=2)
    stale = vault.read("c1")
    sent: list[str] = []

    def refresh(token: str):
        sent.append(token)
        # Intuit rotated; meanwhile another worker (the lease had run out under us) saved newer tokens.
        vault.write("c1", stale.with_tokens(oauth.issue()))
        raise RefreshOutcomeUnknown("answer lost", service="quickbooks")

    oauth.refresh = refresh
    assert service.access_token("c1") == "access-2"
    assert sent == ["refresh-1"]
    assert repo.get("c1").status is ConnectionStatus.CONNECTED


def test_the_refresh_lease_outlives_the_longest_refresh() -> None:
    # One Intuit call ends within its budget, plus a last back-off (2 s) and a last attempt's minimum
    # timeout (1 s); a refresh makes at most two calls; the reads and writes around them need a margin.
    longest_call = REFRESH_BUDGET_SECONDS + 2 + 1
    assert REFRESH_LEASE.total_seconds() >= 2 * longest_call + 10
