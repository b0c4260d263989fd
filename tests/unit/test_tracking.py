"""Classes and locations on a copy: the settings' rules (qbosync.domain.connection), the choice per line or
per transaction (qbosync.domain.tracking), the invoice body (qbosync.domain.invoice_copy), the checks
against what QuickBooks has (qbosync.services.tracking), and the change fingerprint."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from qbosync.domain.connection import CompanyProfile, ConnectionSettings
from qbosync.domain.errors import InvalidInput
from qbosync.domain.invoice_copy import SourceInvoice, SourceLine, TaxChoice, build_invoice
from qbosync.domain.quickbooks_changes import details_digest
from qbosync.domain.tracking import ClassChoice, TrackingPreferences, choose_classes, class_of
from qbosync.services.tracking import CompanyTracking, check_settings, for_copy, read_tracking
from tests.fakes import QuickBooksStub

PER_LINE = TrackingPreferences(class_per_line=True)
PER_TRANSACTION = TrackingPreferences(class_per_transaction=True)
NOTHING = TrackingPreferences()
US = CompanyProfile("1", "Co", "US", "USD", False, False, False, True)
BY_SERVICE = ConnectionSettings(
    default_item_id="1", class_source="service_type", service_type_classes={"14": "2", "15": "3"}
)


def _line(service_type_id: str | None, name: str | None = None) -> SourceLine:
    return SourceLine("Work", Decimal(1), Decimal(100), Decimal(0), service_type_id, name)


DESIGN, BUILD, OTHER = _line("14", "Design"), _line("15", "Development"), _line("16", "Consulting")


def test_preferences_are_read_from_accounting_info_prefs() -> None:
    prefs = {"AccountingInfoPrefs": {"ClassTrackingPerTxnLine": True, "TrackDepartments": True}}
    assert TrackingPreferences.of(prefs) == TrackingPreferences(class_per_line=True, locations=True)
    assert TrackingPreferences.of({}) == NOTHING
    assert not NOTHING.tracks_classes


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"class_source": "fixed"}, "class_id"),
        ({"class_source": "service_type"}, "service_type_classes"),
        ({"class_source": "by_project"}, "class_source"),
        ({"customer_level": "task"}, "customer_level"),
        ({"location_id": ""}, "location_id"),
    ],
)
def test_settings_that_cannot_work_are_refused(settings: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        ConnectionSettings.model_validate(settings)


def test_the_classes_in_use_are_those_of_the_class_source() -> None:
    assert BY_SERVICE.referenced_class_ids() == {"2", "3"}
    fixed = ConnectionSettings(class_source="fixed", class_id="4", service_type_classes={"14": "2"})
    assert fixed.referenced_class_ids() == {"4"}
    assert ConnectionSettings(class_id="4").referenced_class_ids() == set()
    with_default = BY_SERVICE.model_copy(update={"default_class_id": "9"})
    assert class_of(OTHER, with_default) == "9"
    assert class_of(OTHER, BY_SERVICE) is None


def test_per_line_when_the_company_tracks_classes_per_line() -> None:
    choice = choose_classes([DESIGN, BUILD, OTHER], BY_SERVICE, TrackingPreferences(True, True))
    assert choice == ClassChoice(lines=("2", "3", None))
    assert choice.class_ids() == ["2", "3"]


def test_per_transaction_when_every_line_agrees() -> None:
    assert choose_classes([DESIGN, DESIGN], BY_SERVICE, PER_TRANSACTION) == ClassChoice(transaction="2")
    fixed = ConnectionSettings(class_source="fixed", class_id="4")
    assert choose_classes([DESIGN, BUILD], fixed, PER_TRANSACTION) == ClassChoice(transaction="4")
    assert choose_classes([OTHER], BY_SERVICE, PER_TRANSACTION) == ClassChoice()


def test_lines_that_disagree_on_a_per_transaction_company_name_their_service_types() -> None:
    choice = choose_classes([DESIGN, BUILD, DESIGN, OTHER], BY_SERVICE, PER_TRANSACTION)
    assert choice.transaction is None
    assert choice.lines == ()
    assert [(entry["service_type_name"], entry["class_id"]) for entry in choice.conflict] == [
        ("Design", "2"),
        ("Development", "3"),
        ("Consulting", None),
    ]


def test_classes_or_a_location_on_a_company_that_does_not_track_them_is_422() -> None:
    with pytest.raises(InvalidInput) as refused:
        choose_classes([DESIGN], BY_SERVICE, NOTHING)
    assert refused.value.code == "class_tracking_off"
    located = ConnectionSettings(location_id="2")
    with pytest.raises(InvalidInput) as no_locations:
        check_settings(located, CompanyTracking(PER_LINE, {}, {"2": {"Id": "2", "Active": True}}))
    assert no_locations.value.code == "location_tracking_off"
    assert choose_classes([DESIGN], ConnectionSettings(), NOTHING) == ClassChoice()


def test_the_invoice_body_carries_line_classes_or_the_transaction_class_and_the_location() -> None:
    invoice = SourceInvoice(
        "41", "1", None, None, None, None, None, "USD", Decimal(0), Decimal(200), Decimal(200), (DESIGN, OTHER)
    )
    common: dict[str, Any] = {
        "invoice": invoice,
        "settings": BY_SERVICE,
        "company": US,
        "customer_id": "5",
        "tax": TaxChoice(None),
        "memo": None,
        "marker": "m",
    }
    per_line = build_invoice(**common, line_classes=("2", None), location_id="3")
    details = [line["SalesItemLineDetail"] for line in per_line["Line"]]
    assert [detail.get("ClassRef") for detail in details] == [{"value": "2"}, None]
    assert "ClassRef" not in per_line
    assert per_line["DepartmentRef"] == {"value": "3"}
    whole = build_invoice(**common, transaction_class="2")
    assert whole["ClassRef"] == {"value": "2"}
    assert "DepartmentRef" not in whole
    assert all("ClassRef" not in line["SalesItemLineDetail"] for line in whole["Line"])
    plain = build_invoice(**common)
    assert "ClassRef" not in plain
    assert "DepartmentRef" not in plain


def test_the_details_fingerprint_counts_class_and_location_only_where_present() -> None:
    before = {"PrivateNote": "m", "TxnDate": "2026-01-02"}
    assert details_digest(before) == details_digest({**before, "ClassRef": None})
    located = {**before, "DepartmentRef": {"value": "2", "name": "Online"}}
    assert details_digest(located) != details_digest(before)
    assert details_digest(located) == details_digest({**before, "DepartmentRef": {"value": "2", "name": "Renamed"}})
    assert details_digest(located) != details_digest({**before, "DepartmentRef": {"value": "3"}})


ACTIVE = {"Id": "2", "Name": "Design Studio", "Active": True}
INACTIVE = {"Id": "3", "Name": "Training", "Active": False}


def test_settings_name_unknown_or_inactive_classes_and_locations() -> None:
    tracking = CompanyTracking(PER_LINE, {"2": ACTIVE, "3": INACTIVE}, {})
    with pytest.raises(InvalidInput) as refused:
        check_settings(BY_SERVICE.model_copy(update={"default_class_id": "10"}), tracking)
    assert refused.value.code == "unknown_class"
    assert refused.value.details == {"class_ids": ["3", "10"]}
    located = ConnectionSettings(location_id="7")
    with pytest.raises(InvalidInput) as unknown:
        check_settings(located, CompanyTracking(TrackingPreferences(locations=True), {}, {}))
    assert (unknown.value.code, unknown.value.details) == ("unknown_location", {"location_id": "7"})


def test_a_copy_refuses_a_class_or_location_deactivated_since_and_names_it() -> None:
    tracking = CompanyTracking(TrackingPreferences(True, True, True), {"2": ACTIVE, "3": INACTIVE}, {})
    assert for_copy([DESIGN], BY_SERVICE, tracking).classes == ClassChoice(lines=("2",))
    with pytest.raises(InvalidInput) as refused:
        for_copy([DESIGN, BUILD], BY_SERVICE, tracking)
    assert refused.value.code == "quickbooks_class_unavailable"
    assert "'Training' (id 3)" in refused.value.message
    assert "is inactive" in refused.value.message
    with pytest.raises(InvalidInput) as gone:
        for_copy([DESIGN], BY_SERVICE.model_copy(update={"location_id": "9"}), tracking)
    assert gone.value.code == "quickbooks_location_unavailable"
    assert "id 9 set in the QuickBooks settings no longer exists" in gone.value.message


def test_a_copy_whose_lines_disagree_warns_class_conflict() -> None:
    tracking = CompanyTracking(PER_TRANSACTION, {"2": ACTIVE, "3": {**INACTIVE, "Active": True}}, {})
    chosen = for_copy([DESIGN, BUILD], BY_SERVICE, tracking)
    assert chosen.classes == ClassChoice(conflict=chosen.classes.conflict)
    [warning] = chosen.warnings
    assert warning.code == "class_conflict"
    assert "Design → class 2, Development → class 3" in warning.message
    assert [entry["service_type_id"] for entry in warning.details["service_types"]] == ["14", "15"]
    assert for_copy([DESIGN], ConnectionSettings(), None).warnings == ()


class _Reads(QuickBooksStub):
    def __init__(self) -> None:
        self.statements: list[str] = []

    def query(self, statement: str) -> list[dict[str, Any]]:
        self.statements.append(statement)
        if "Preferences" in statement:
            return [{"AccountingInfoPrefs": {"ClassTrackingPerTxn": True, "TrackDepartments": True}}]
        if "from Class" in statement:
            return [ACTIVE, INACTIVE]
        return [{"Id": "2", "Name": "Online", "Active": True}]


def test_reading_the_tracking_asks_for_inactive_ones_too() -> None:
    qbo = _Reads()
    tracking = read_tracking(BY_SERVICE.model_copy(update={"location_id": "2"}), qbo)
    assert tracking.preferences == TrackingPreferences(class_per_transaction=True, locations=True)
    assert set(tracking.classes) == {"2", "3"}
    assert set(tracking.locations) == {"2"}
    assert sorted(qbo.statements) == [
        "select * from Class where Id in ('2', '3') and Active in (true, false)",
        "select * from Department where Id in ('2') and Active in (true, false)",
        "select * from Preferences",
    ]
