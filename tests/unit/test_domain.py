from __future__ import annotations

import pytest
from pydantic import ValidationError

from qbosync.api.errors import status_for
from qbosync.domain.connection import ConnectionSecret, ConnectionSettings, TokenSet, connection_id_for
from qbosync.domain.errors import (
    ConnectionNotReady,
    InvalidInput,
    NotFound,
    QuickBooksFault,
    ReauthorizationRequired,
    UpstreamUnavailable,
)
from qbosync.domain.qbo_query import like_contains, quote, quote_list
from tests.fakes import FakeClock


def test_query_literals_escape_quotes_and_backslashes() -> None:
    assert quote("O'Brien") == "'O\\'Brien'"
    assert quote("a\\b") == "'a\\\\b'"
    assert quote("Smith & Sons") == "'Smith & Sons'"
    assert quote("Café") == "'Café'"
    assert quote_list(["1", "2"]) == "('1', '2')"
    assert like_contains("O'B") == "'%O\\'B%'"


def test_connection_id_is_stable_per_subsidiary() -> None:
    assert connection_id_for("1", "2") == connection_id_for("1", "2")
    assert connection_id_for("1", "2") != connection_id_for("1", "3")
    assert connection_id_for("12", "3") != connection_id_for("1", "23")


def test_settings_defaults_and_rules() -> None:
    settings = ConnectionSettings()
    assert settings.invoice_numbering == "quickbooks"
    assert settings.sync_payments is False
    with pytest.raises(ValidationError, match="memo_custom_field_id"):
        ConnectionSettings(memo_source="custom_field")
    with pytest.raises(ValidationError):
        ConnectionSettings.model_validate({"unknown_field": 1})
    with pytest.raises(ValidationError):
        ConnectionSettings.model_validate({"invoice_numbering": "sometimes"})
    mapped = ConnectionSettings(default_item_id="21", service_type_items={"14": "22"})
    assert mapped.referenced_item_ids() == {"21", "22"}


def test_secrets_never_show_in_repr() -> None:
    clock = FakeClock()
    tokens = TokenSet(
        access_token="ACCESS-SECRET",
        refresh_token="REFRESH-SECRET",
        access_expires_at=clock.now(),
        refresh_expires_at=clock.now(),
    )
    secret = ConnectionSecret(productive_api_token="PRODUCTIVE-SECRET", tokens=tokens)
    text = repr(secret) + str(secret)
    for value in ("ACCESS-SECRET", "REFRESH-SECRET", "PRODUCTIVE-SECRET"):
        assert value not in text
    assert ConnectionSecret.from_json_dict(secret.to_json_dict()) == secret


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("x"), 404),
        (InvalidInput("x"), 422),
        (ConnectionNotReady("x"), 409),
        (ReauthorizationRequired("x"), 409),
        (UpstreamUnavailable("x", service="quickbooks"), 503),
        (QuickBooksFault("Stale", fault_code="5010", fault_type="ValidationFault"), 409),
        (QuickBooksFault("Bad", fault_code="2020", fault_type="ValidationFault"), 422),
        (QuickBooksFault("Boom", fault_code="10000", fault_type="SystemFault", http_status=500), 502),
    ],
)
def test_one_map_from_domain_errors_to_http(error, status) -> None:
    assert status_for(error) == status


def test_a_connection_watches_quickbooks_when_connected_and_syncs_payments_only_with_sync_on() -> None:
    from qbosync.domain.connection import CompanyProfile, Connection, ConnectionStatus, change_kind
    from tests.fakes import connected

    def rules(connection: Connection) -> tuple[bool, bool, bool, bool]:
        watch = (connection.watches_quickbooks, connection.syncs_payments)
        return (*watch, connection.acts_on("copy"), connection.acts_on("payment"))

    base = connected(clock=FakeClock())
    company = CompanyProfile("1", "Co", "US", "USD", False, False, False, True)
    on = ConnectionSettings(sync_payments=True)
    assert rules(base.with_changes(company=company, settings=on)) == (True, True, True, True)
    # Sync off: its copies changed in QuickBooks are still flagged, its payments not mirrored.
    assert rules(base.with_changes(company=company)) == (True, False, True, False)
    assert rules(base.with_changes(settings=on)) == (False, False, False, False)  # no company yet
    for status in (ConnectionStatus.PENDING, ConnectionStatus.NEEDS_RECONNECT, ConnectionStatus.DISCONNECTED):
        assert rules(base.with_changes(company=company, settings=on, status=status)) == (False, False, False, False)
    assert [change_kind(e) for e in ("Payment", "Invoice", "CreditMemo")] == ["payment", "copy", "copy"]
