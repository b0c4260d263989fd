"""Connection health and reconnect warnings (docs/architecture.md "Connection health"): the threshold
rule at any hour and in any time zone, the health figures, the last-call records, and the warning run
with its once-only sending, on explicit clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import pytest

from qbosync.domain.activity import Activity
from qbosync.domain.connection import CallError, ConnectionSecret, ConnectionStatus
from qbosync.domain.errors import QuickBooksFault, ReauthorizationRequired, UpstreamUnavailable
from qbosync.domain.health import (
    call_error,
    connection_health,
    days_left,
    due_hard_expiry_reason,
    hard_expiry_warning,
    reconnect_required_by,
    scrubbed,
)
from qbosync.services.health import HealthService, QuickBooksCallRecorder
from qbosync.services.reconnect_warnings import CLAIM_LEASE, ReconnectWarningService
from qbosync.services.tokens import TokenService
from tests.fakes import (
    FakeClock,
    InMemoryActivityLog,
    InMemoryCallLog,
    InMemoryRepository,
    InMemoryVault,
    InMemoryWarningLedger,
    QuickBooksStub,
    RecordingNotifier,
    StrictRotatingOAuth,
    connected,
)

ZONES = [ZoneInfo(name) for name in sorted(available_timezones())]
# Hard expiries at awkward times of day, UTC and where dates differ most from UTC.
EXPIRIES = [
    datetime(2031, 3, 9, 0, 0, tzinfo=UTC),
    datetime(2031, 3, 9, 11, 59, 59, tzinfo=UTC),
    datetime(2031, 3, 9, 12, 0, tzinfo=UTC),
    datetime(2031, 3, 9, 23, 30, tzinfo=UTC),
    datetime(2031, 3, 9, 0, 15, tzinfo=ZoneInfo("Pacific/Kiritimati")),
    datetime(2031, 3, 9, 23, 45, tzinfo=ZoneInfo("Pacific/Pago_Pago")),
    datetime(2031, 10, 26, 2, 30, tzinfo=ZoneInfo("Europe/London")),  # the night the clocks go back
]


def expected_reason(remaining: timedelta) -> str | None:
    """The rule in plain words: the most urgent of 30, 7, 1 days that is reached, until the expiry."""
    if remaining <= timedelta(0) or remaining > timedelta(days=30):
        return None
    if remaining <= timedelta(days=1):
        return "hard_expiry_1d"
    if remaining <= timedelta(days=7):
        return "hard_expiry_7d"
    return "hard_expiry_30d"


# -- the threshold rule ---------------------------------------------------------------------------


def test_days_left_count_whole_days_up() -> None:
    now = datetime(2031, 1, 1, 12, tzinfo=UTC)
    assert days_left(now + timedelta(days=29), now) == 29
    assert days_left(now + timedelta(days=29, seconds=1), now) == 30
    assert days_left(now + timedelta(minutes=1), now) == 1
    assert days_left(now, now) == 0
    assert days_left(now - timedelta(days=3), now) == 0


@pytest.mark.parametrize("hard", EXPIRIES, ids=lambda moment: moment.isoformat())
def test_the_warning_due_at_every_half_hour_of_the_last_32_days(hard: datetime) -> None:
    """Whatever the hour the job runs and whatever the zone the instants are written in, the warning
    due is the one the time left calls for, and `days_left` agrees with it."""
    start = hard.astimezone(UTC) - timedelta(days=32)
    for step in range(32 * 48 + 4):
        now = start + timedelta(minutes=30 * step)
        reason = due_hard_expiry_reason(hard, now)
        assert reason == expected_reason(hard.astimezone(UTC) - now), now
        for zone in (ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12"), ZoneInfo("Europe/London"), UTC):
            assert due_hard_expiry_reason(hard.astimezone(zone), now.astimezone(zone)) == reason
        if reason is not None:
            threshold = int(reason.removeprefix("hard_expiry_").removesuffix("d"))
            assert days_left(hard, now) <= threshold


def test_each_threshold_is_reached_exactly_at_its_instant() -> None:
    hard = EXPIRIES[1]
    for threshold in (30, 7, 1):
        at = hard - timedelta(days=threshold)
        assert due_hard_expiry_reason(hard, at) == f"hard_expiry_{threshold}d"
        earlier = due_hard_expiry_reason(hard, at - timedelta(seconds=1))
        assert earlier != f"hard_expiry_{threshold}d"
    assert due_hard_expiry_reason(hard, hard) is None  # expired: the needs_reconnect warning follows


@pytest.mark.parametrize("hard", EXPIRIES, ids=lambda moment: moment.isoformat())
def test_reconnect_required_by_is_in_time_in_every_zone(hard: datetime) -> None:
    """Reconnecting by the end of that date, in the company's own zone, is before the expiry wherever
    the company is; and it is the last such date (the next one ends too late somewhere)."""
    by = reconnect_required_by(hard)
    for zone in ZONES:
        end_of_day = datetime.combine(by + timedelta(days=1), time(0), tzinfo=zone)
        assert end_of_day <= hard, zone
    latest = datetime.combine(by + timedelta(days=2), time(0), tzinfo=ZoneInfo("Etc/GMT+12"))
    assert latest > hard


# -- health ---------------------------------------------------------------------------------------


def test_health_of_a_connected_connection() -> None:
    clock = FakeClock(datetime(2031, 2, 1, 9, 30, tzinfo=UTC))
    now = clock.now()
    connection = connected(clock=clock).with_changes(
        refresh_expires_at=now + timedelta(days=99, hours=23),
        refresh_hard_expires_at=now + timedelta(days=400, hours=3),
        last_success_at=now - timedelta(minutes=3),
        last_error=CallError("quickbooks_6140", "Duplicate Document Number Error", now - timedelta(hours=2)),
    )
    health = connection_health(connection, now, failed_copies_7d=2, skipped_payment_events_7d=1)
    assert health.status == "ok"
    assert health.days_until_refresh_expiry == 100
    assert health.days_until_hard_expiry == 401
    # The rolling expiry is the earlier one, 2031-05-12T08:30Z: May 11 is still going on at UTC-12 then,
    # so May 10 is the last date that is over everywhere in time.
    assert health.reconnect_required_by == date(2031, 5, 10)
    assert health.last_success_at == now - timedelta(minutes=3)
    assert health.last_error is not None
    assert health.last_error.code == "quickbooks_6140"
    assert (health.failed_copies_7d, health.skipped_payment_events_7d) == (2, 1)


def test_health_says_reconnect_soon_within_30_days_of_either_expiry() -> None:
    clock = FakeClock()
    now = clock.now()
    base = connected(clock=clock).with_changes(refresh_expires_at=now + timedelta(days=90))
    hard_soon = base.with_changes(refresh_hard_expires_at=now + timedelta(days=29, hours=23))
    health = connection_health(hard_soon, now, failed_copies_7d=0, skipped_payment_events_7d=0)
    assert (health.status, health.days_until_hard_expiry) == ("reconnect_soon", 30)
    assert health.reconnect_required_by == reconnect_required_by(now + timedelta(days=29, hours=23))
    later = base.with_changes(refresh_hard_expires_at=now + timedelta(days=30, seconds=1))
    assert connection_health(later, now, failed_copies_7d=0, skipped_payment_events_7d=0).status == "ok"
    rolling = base.with_changes(refresh_expires_at=now + timedelta(days=3))
    assert connection_health(rolling, now, failed_copies_7d=0, skipped_payment_events_7d=0).status == "reconnect_soon"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (ConnectionStatus.NEEDS_RECONNECT, "needs_reconnect"),
        (ConnectionStatus.PENDING, "not_connected"),
        (ConnectionStatus.DISCONNECTED, "not_connected"),
    ],
)
def test_a_connection_that_is_not_connected_has_no_expiry_figures(status: ConnectionStatus, expected: str) -> None:
    clock = FakeClock()
    now = clock.now()
    connection = connected(clock=clock).with_changes(
        status=status, refresh_expires_at=now + timedelta(days=50), refresh_hard_expires_at=now + timedelta(days=9)
    )
    health = connection_health(connection, now, failed_copies_7d=0, skipped_payment_events_7d=0)
    assert health.status == expected
    assert health.days_until_refresh_expiry is None
    assert health.days_until_hard_expiry is None
    assert health.reconnect_required_by is None


def test_the_health_service_counts_the_last_seven_days_of_failed_copies_and_skipped_events() -> None:
    clock = FakeClock()
    activity = InMemoryActivityLog()

    def entry(kind: Any, age: timedelta, connection_id: str = "c1") -> None:
        activity.record(Activity(connection_id=connection_id, kind=kind, at=clock.now() - age, summary="x"))

    entry("copy_failed", timedelta(days=1))
    entry("copy_failed", timedelta(days=6, hours=23))
    entry("copy_failed", timedelta(days=7, seconds=1))  # too old
    entry("copy_failed", timedelta(hours=1), connection_id="c2")  # another connection
    entry("payment_event_skipped", timedelta(minutes=5))
    entry("copy_created", timedelta(minutes=5))
    health = HealthService(activity=activity, clock=clock).health(connected(clock=clock))
    assert (health.failed_copies_7d, health.skipped_payment_events_7d) == (2, 1)


# -- the last QuickBooks calls --------------------------------------------------------------------


def test_a_stored_error_is_scrubbed() -> None:
    at = datetime(2031, 1, 1, tzinfo=UTC)
    fault = QuickBooksFault(
        "Duplicate Document Number Error for ann@example.com", fault_code="6140", fault_type="ValidationFault"
    )
    assert call_error(fault, at) == CallError("quickbooks_6140", "Duplicate Document Number Error for [e-mail]", at)
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQtb2YtYS10b2tlbg"
    assert token not in scrubbed(f"rejected {token}\n  now")
    assert scrubbed(f"rejected {token}\n  now") == "rejected [redacted] now"
    assert len(scrubbed("word " * 200)) == 300
    outage = UpstreamUnavailable("QuickBooks is not answering right now.", service="quickbooks")
    assert call_error(outage, at).code == "upstream_unavailable"


class _Api(QuickBooksStub):
    def __init__(self) -> None:
        self.fail: Exception | None = None

    def query(self, statement: str) -> list[dict[str, Any]]:
        if self.fail is not None:
            raise self.fail
        return [{"Id": "1"}]


def test_successes_are_written_once_per_interval_and_errors_always() -> None:
    clock = FakeClock()
    log = InMemoryCallLog()
    recorder = QuickBooksCallRecorder(log=log, clock=clock, success_interval=timedelta(minutes=15))
    inner = _Api()
    api = recorder.watch(inner, "c1")
    for _ in range(5):
        assert api.query("select * from Item") == [{"Id": "1"}]
        clock.advance(minutes=2)
    assert log.writes == 1
    assert log.last_success["c1"] == clock.now() - timedelta(minutes=10)
    clock.advance(minutes=6)  # 16 minutes after the first write
    api.query("select * from Item")
    assert (log.writes, log.last_success["c1"]) == (2, clock.now())
    inner.fail = QuickBooksFault("Invalid Reference Id", fault_code="2500", fault_type="ValidationFault")
    for _ in range(2):
        with pytest.raises(QuickBooksFault):
            api.query("select * from Item")
    assert log.writes == 4
    assert log.last_error["c1"] == CallError("quickbooks_2500", "Invalid Reference Id", clock.now())
    # Each connection has its own interval; a clock moved back does not stop the writes.
    recorder.watch(_Api(), "c2").query("select * from Item")
    inner.fail = None
    clock.advance(hours=-5)
    api.query("select * from Item")
    assert log.writes == 6


def test_a_record_that_cannot_be_written_never_fails_the_call() -> None:
    class BrokenLog(InMemoryCallLog):
        def succeeded(self, connection_id: str, at: datetime) -> None:
            raise RuntimeError("DynamoDB is down")

        def failed(self, connection_id: str, error: CallError) -> None:
            raise RuntimeError("DynamoDB is down")

    clock = FakeClock()
    log = BrokenLog()
    inner = _Api()
    api = QuickBooksCallRecorder(log=log, clock=clock).watch(inner, "c1")
    assert api.query("select * from Item") == [{"Id": "1"}]
    inner.fail = ReauthorizationRequired("reconnect it")
    with pytest.raises(ReauthorizationRequired):  # the call's own error, not the log's
        api.query("select * from Item")


# -- the token service's records ------------------------------------------------------------------


def test_refreshes_and_a_refused_grant_are_in_the_activity_log() -> None:
    clock = FakeClock()
    repo, vault, oauth = InMemoryRepository(), InMemoryVault(), StrictRotatingOAuth(clock)
    activity, calls = InMemoryActivityLog(), InMemoryCallLog()
    repo.save(connected(clock=clock))
    vault.write("c1", ConnectionSecret(productive_api_token="p", tokens=oauth.issue()))
    service = TokenService(
        repository=repo, vault=vault, oauth=oauth, clock=clock, sleep=lambda _: None, activity=activity, calls=calls
    )
    clock.advance(hours=25)
    assert service.refresh_due().refreshed == ["c1"]
    (refreshed,) = activity.entries
    assert refreshed.kind == "token_refreshed"
    assert refreshed.details["trigger"] == "scheduled"
    assert "refresh-" not in str(refreshed.details)
    assert "access-" not in str(refreshed.details)

    def refuse(token: str) -> Any:
        raise ReauthorizationRequired("no", intuit_reason="invalid_grant: Token has been expired or revoked")

    oauth.refresh = refuse  # type: ignore[method-assign,assignment]
    clock.advance(hours=25)
    assert service.refresh_due().needs_reconnect == ["c1"]
    lost = activity.entries[-1]
    assert lost.kind == "needs_reconnect"
    assert lost.details == {
        "reason": "invalid_grant",
        "intuit_reason": "invalid_grant: Token has been expired or revoked",
    }
    assert calls.last_error["c1"].code == "needs_reconnect"


# -- the warning run ------------------------------------------------------------------------------


class WarningWorld:
    def __init__(self, *, notifier: bool = True) -> None:
        self.clock = FakeClock(datetime(2031, 2, 1, 14, 5, tzinfo=UTC))
        self.repo = InMemoryRepository()
        self.ledger = InMemoryWarningLedger(self.repo)
        self.notifier = RecordingNotifier() if notifier else None
        self.activity = InMemoryActivityLog()
        self.service = ReconnectWarningService(
            connections=self.repo,
            ledger=self.ledger,
            notifier=self.notifier,
            activity=self.activity,
            clock=self.clock,
        )

    def connection(self, connection_id: str, hard_in: timedelta) -> None:
        now = self.clock.now()
        self.repo.save(
            connected(connection_id, clock=self.clock).with_changes(
                refresh_expires_at=now + timedelta(days=100), refresh_hard_expires_at=now + hard_in
            )
        )

    @property
    def sent(self) -> list[tuple[str, str]]:
        assert self.notifier is not None
        return [(warning.connection_id, warning.reason) for warning in self.notifier.sent]


def test_each_threshold_is_sent_once_as_the_expiry_nears() -> None:
    w = WarningWorld()
    w.connection("c1", timedelta(days=31, hours=5))
    w.connection("far", timedelta(days=900))
    for _ in range(24 * 31 + 12):  # hourly runs until after the expiry
        w.service.run()
        w.clock.advance(hours=1)
    assert w.sent == [("c1", "hard_expiry_30d"), ("c1", "hard_expiry_7d"), ("c1", "hard_expiry_1d")]
    days = [warning.days_left for warning in w.notifier.sent]  # type: ignore[union-attr]
    assert days == [30, 7, 1]
    assert [entry.kind for entry in w.activity.entries] == ["reconnect_warning"] * 3
    assert w.activity.entries[0].details["reason"] == "hard_expiry_30d"


def test_a_run_after_a_long_gap_sends_only_the_most_urgent_warning() -> None:
    w = WarningWorld()
    w.connection("c1", timedelta(days=5))
    w.service.run()
    w.service.run()
    assert w.sent == [("c1", "hard_expiry_7d")]


def test_a_failed_send_is_tried_again_by_the_next_run_and_the_rest_wait() -> None:
    w = WarningWorld()
    w.connection("c1", timedelta(days=20))
    w.connection("c2", timedelta(days=21))
    assert w.notifier is not None
    w.notifier.failures = 1
    report = w.service.run()
    assert (len(report.sent), len(report.failed)) == (0, 2)  # c2 was not even tried after c1 failed
    assert w.activity.entries == []
    report = w.service.run()
    assert sorted(w.sent) == [("c1", "hard_expiry_30d"), ("c2", "hard_expiry_30d")]
    assert len(w.activity.entries) == 2


def test_a_claim_held_by_another_run_is_left_alone_until_its_lease_runs_out() -> None:
    w = WarningWorld()
    w.connection("c1", timedelta(days=20))
    warning = hard_expiry_warning(w.repo.get("c1"), w.clock.now())  # type: ignore[arg-type]
    assert warning is not None
    assert w.ledger.claim(warning, "other run", w.clock.now(), w.clock.now() + CLAIM_LEASE)
    assert w.service.run().sent == []
    w.clock.advance(seconds=CLAIM_LEASE.total_seconds() + 1)  # that run died while sending
    assert len(w.service.run().sent) == 1


def test_a_new_grant_is_warned_about_again() -> None:
    w = WarningWorld()
    w.connection("c1", timedelta(days=20))
    w.service.run()
    # The expiry moves by a second between refreshes: the same grant, no second warning.
    w.repo.save(w.repo.get("c1").with_changes(refresh_hard_expires_at=w.clock.now() + timedelta(days=20, seconds=1)))  # type: ignore[union-attr]
    w.service.run()
    # Reconnected after the expiry: a new grant, due again 5 years later.
    w.clock.advance(days=5 * 365)
    w.connection("c1", timedelta(days=25))
    w.service.run()
    assert w.sent == [("c1", "hard_expiry_30d"), ("c1", "hard_expiry_30d")]


def test_needs_reconnect_is_warned_about_once_and_leaves_the_waiting_list() -> None:
    w = WarningWorld()
    w.connection("c1", timedelta(days=900))
    since = w.clock.now()
    w.repo.mark_needs_reconnect("c1", "invalid_grant", since)
    w.ledger.waiting["c1"] = since
    w.clock.advance(minutes=40)
    w.service.run()
    w.service.run()
    assert w.sent == [("c1", "needs_reconnect")]
    assert w.ledger.waiting == {}
    (warning,) = w.notifier.sent  # type: ignore[union-attr]
    assert warning.payload() == {
        "event": "reconnect_warning",
        "warning_id": warning.warning_id,
        "connection_id": "c1",
        "organization_id": "org",
        "subsidiary_id": "sub",
        "reason": "needs_reconnect",
        "reconnect_required_by": None,
        "days_left": 0,
    }


def test_a_connection_reconnected_before_its_warning_leaves_the_waiting_list_unwarned() -> None:
    w = WarningWorld()
    w.connection("c1", timedelta(days=900))
    w.ledger.waiting["c1"] = w.clock.now()  # became needs_reconnect, and is connected again since
    w.service.run()
    assert w.sent == []
    assert w.ledger.waiting == {}


def test_without_a_notifier_due_warnings_are_only_reported_and_stay_due() -> None:
    w = WarningWorld(notifier=False)
    w.connection("c1", timedelta(days=20))
    for _ in range(2):
        report = w.service.run()
        assert [(warning.connection_id, warning.reason) for warning in report.unsent] == [("c1", "hard_expiry_30d")]
    assert w.ledger.records == {}
    assert w.activity.entries == []


def test_an_unexpected_error_while_sending_releases_the_claim() -> None:
    w = WarningWorld()
    w.connection("c1", timedelta(days=20))

    class Exploding(RecordingNotifier):
        def send(self, warning: Any) -> None:
            raise RuntimeError("bug")

    w.service._notifier = Exploding()
    with pytest.raises(RuntimeError):
        w.service.run()
    w.service._notifier = w.notifier
    assert w.service.run().sent != []
