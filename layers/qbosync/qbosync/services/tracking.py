"""Classes and locations as the QuickBooks company has them (README "Classes and locations";
docs/architecture.md "Settings" and "Copy"): what it tracks (its preferences) and whether the classes
and the location the settings name exist and are active. Read when settings are saved (a 422 names what
is wrong) and before a copy's first write (a class or location deactivated since is a 422 naming it, with
nothing written). The rules are qbosync.domain.tracking."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qbosync.domain.connection import ConnectionSettings
from qbosync.domain.copies import CopyWarning
from qbosync.domain.errors import InvalidInput
from qbosync.domain.invoice_copy import SourceLine
from qbosync.domain.ports import QuickBooksApi
from qbosync.domain.qbo_query import quote_list
from qbosync.domain.tracking import (
    NO_CLASSES,
    ClassChoice,
    TrackingPreferences,
    choose_classes,
    conflict_text,
    require_tracking,
)
from qbosync.services.together import together


@dataclass(frozen=True)
class CompanyTracking:
    """What the company tracks, and the classes and location the settings name as QuickBooks has them
    (inactive ones too; ids QuickBooks does not know are absent)."""

    preferences: TrackingPreferences
    classes: Mapping[str, Mapping[str, Any]]
    locations: Mapping[str, Mapping[str, Any]]


def read_tracking(settings: ConnectionSettings, qbo: QuickBooksApi) -> CompanyTracking:
    """Three reads at once: the preferences, the classes and the location the settings name."""
    location_ids = [settings.location_id] if settings.location_id else []
    preferences, classes, locations = together(
        lambda: _preferences(qbo),
        lambda: _by_id(qbo, "Class", sorted(settings.referenced_class_ids())),
        lambda: _by_id(qbo, "Department", location_ids),
    )
    return CompanyTracking(preferences, classes, locations)


def check_settings(settings: ConnectionSettings, tracking: CompanyTracking) -> None:
    """Before settings are saved: the company tracks what they ask for (422 `class_tracking_off`,
    `location_tracking_off`), and their classes and location exist and are active (422 `unknown_class`,
    `unknown_location`, naming them)."""
    require_tracking(settings, tracking.preferences)
    unknown = [
        class_id
        for class_id in sorted(settings.referenced_class_ids(), key=lambda value: (len(value), value))
        if not _active(tracking.classes.get(class_id))
    ]
    if unknown:
        raise InvalidInput(
            "Unknown or inactive QuickBooks class id(s): " + ", ".join(unknown) + ".",
            code="unknown_class",
            details={"class_ids": unknown},
        )
    if settings.location_id and not _active(tracking.locations.get(settings.location_id)):
        raise InvalidInput(
            f"Unknown or inactive QuickBooks location (Department) id: {settings.location_id}.",
            code="unknown_location",
            details={"location_id": settings.location_id},
        )


@dataclass(frozen=True)
class CopyTracking:
    """The classes and location of one copy, and the warning when its lines' classes disagree."""

    classes: ClassChoice = NO_CLASSES
    location_id: str | None = None
    warnings: tuple[CopyWarning, ...] = ()


def for_copy(
    lines: Sequence[SourceLine], settings: ConnectionSettings, tracking: CompanyTracking | None
) -> CopyTracking:
    """The classes and location a copy gets. 422 before any write when the company no longer tracks
    them, or when a class or the location it would use was deactivated or deleted in QuickBooks since the
    settings were saved (`quickbooks_class_unavailable`, `quickbooks_location_unavailable`, naming it)."""
    if tracking is None:
        return CopyTracking()
    require_tracking(settings, tracking.preferences)
    classes = choose_classes(lines, settings, tracking.preferences)
    for class_id in classes.class_ids():
        _require_active("class", class_id, tracking.classes.get(class_id), "quickbooks_class_unavailable")
    if settings.location_id:
        location = tracking.locations.get(settings.location_id)
        _require_active("location", settings.location_id, location, "quickbooks_location_unavailable")
    warnings: tuple[CopyWarning, ...] = ()
    if classes.conflict:
        warnings = (
            CopyWarning(
                code="class_conflict",
                message="The lines ask for different QuickBooks classes ("
                + conflict_text(classes.conflict)
                + ") and this company takes one class per invoice; the copy has no class.",
                details={"service_types": [dict(entry) for entry in classes.conflict]},
            ),
        )
    return CopyTracking(classes=classes, location_id=settings.location_id, warnings=warnings)


def _require_active(kind: str, record_id: str, record: Mapping[str, Any] | None, code: str) -> None:
    if _active(record):
        return
    assert kind in ("class", "location")
    name = str((record or {}).get("FullyQualifiedName") or (record or {}).get("Name") or "")
    what = f"The QuickBooks {kind} {name!r} (id {record_id})" if name else f"The QuickBooks {kind} id {record_id}"
    state = "is inactive" if record is not None else "no longer exists"
    raise InvalidInput(
        f"{what} set in the QuickBooks settings {state} in QuickBooks; pick an active {kind} in the settings.",
        code=code,
        details={f"{kind}_id": record_id, f"{kind}_name": name or None},
    )


def _active(record: Mapping[str, Any] | None) -> bool:
    return record is not None and record.get("Active", True) is not False


def _preferences(qbo: QuickBooksApi) -> TrackingPreferences:
    rows = qbo.query("select * from Preferences")
    return TrackingPreferences.of(rows[0] if rows else {})


def _by_id(qbo: QuickBooksApi, entity: str, ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    """The records of these ids, active or not (a plain query finds only active ones)."""
    if not ids:
        return {}
    rows = qbo.query(f"select * from {entity} where Id in {quote_list(list(ids))} and Active in (true, false)")
    return {str(row["Id"]): row for row in rows}
