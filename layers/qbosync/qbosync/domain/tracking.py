"""Classes and locations on a copy (README "Classes and locations"; docs/architecture.md "Settings" and
"Copy"): which QuickBooks Class each line or the whole invoice gets, and the location (QuickBooks'
Department) of every copy.

Pure rules: no I/O. The services read the company's preferences and check the ids in QuickBooks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qbosync.domain.connection import ConnectionSettings
from qbosync.domain.errors import InvalidInput
from qbosync.domain.invoice_copy import SourceLine


@dataclass(frozen=True)
class TrackingPreferences:
    """What the company tracks (Preferences.AccountingInfoPrefs): a class per transaction, a class per
    line, and departments (which QuickBooks shows as locations). QuickBooks refuses a ClassRef or a
    DepartmentRef where its preference is off."""

    class_per_transaction: bool = False
    class_per_line: bool = False
    locations: bool = False

    @classmethod
    def of(cls, preferences: Mapping[str, Any]) -> TrackingPreferences:
        accounting = preferences.get("AccountingInfoPrefs") or {}
        return cls(
            class_per_transaction=accounting.get("ClassTrackingPerTxn") is True,
            class_per_line=accounting.get("ClassTrackingPerTxnLine") is True,
            locations=accounting.get("TrackDepartments") is True,
        )

    @property
    def tracks_classes(self) -> bool:
        return self.class_per_transaction or self.class_per_line


def uses_tracking(settings: ConnectionSettings) -> bool:
    """Whether the settings put a class or a location on copies (then the company's preferences count)."""
    return settings.class_source != "none" or settings.location_id is not None


def require_tracking(settings: ConnectionSettings, preferences: TrackingPreferences) -> None:
    """422 when the settings want a class or a location the company does not track: QuickBooks would
    refuse every copy."""
    if settings.class_source != "none" and not preferences.tracks_classes:
        raise InvalidInput(
            "The QuickBooks company does not track classes; turn class tracking on in QuickBooks "
            "(Settings, Advanced, Categories) or set class_source to 'none'.",
            code="class_tracking_off",
            details={"preferences": ["ClassTrackingPerTxn", "ClassTrackingPerTxnLine"]},
        )
    if settings.location_id is not None and not preferences.locations:
        raise InvalidInput(
            "The QuickBooks company does not track locations; turn location tracking on in QuickBooks "
            "(Settings, Advanced, Categories) or clear location_id.",
            code="location_tracking_off",
            details={"preferences": ["TrackDepartments"], "location_id": settings.location_id},
        )


def class_of(line: SourceLine, settings: ConnectionSettings) -> str | None:
    """The class a line asks for: the fixed one; or its service type's, else the default; or none."""
    if settings.class_source == "fixed":
        return settings.class_id
    if settings.class_source == "service_type":
        if line.service_type_id and line.service_type_id in settings.service_type_classes:
            return settings.service_type_classes[line.service_type_id]
        return settings.default_class_id
    return None


@dataclass(frozen=True)
class ClassChoice:
    """Where the classes go on a copy: one per line (`lines`, in line order, None for a line without
    one), or one for the whole transaction. `conflict` names the service types whose classes disagree
    on a company that takes one class per transaction: then the copy has none."""

    lines: tuple[str | None, ...] = ()
    transaction: str | None = None
    conflict: tuple[dict[str, str | None], ...] = ()

    def class_ids(self) -> list[str]:
        """Every class id the copy uses, each once, in order."""
        ids = [*self.lines, self.transaction]
        return list(dict.fromkeys(class_id for class_id in ids if class_id))


NO_CLASSES = ClassChoice()


def choose_classes(
    lines: Sequence[SourceLine], settings: ConnectionSettings, preferences: TrackingPreferences
) -> ClassChoice:
    """Per line when the company tracks classes per line; else per transaction, when every line asks
    for the same class. 422 (`require_tracking`) when it tracks none."""
    if settings.class_source == "none":
        return NO_CLASSES
    require_tracking(settings, preferences)
    wanted = tuple(class_of(line, settings) for line in lines)
    if preferences.class_per_line:
        return ClassChoice(lines=wanted)
    if len(set(wanted)) <= 1:
        return ClassChoice(transaction=wanted[0] if wanted else None)
    conflict: dict[tuple[str | None, str | None], dict[str, str | None]] = {}
    for line, class_id in zip(lines, wanted, strict=True):
        conflict.setdefault(
            (line.service_type_id, class_id),
            {
                "service_type_id": line.service_type_id,
                "service_type_name": line.service_type_name,
                "class_id": class_id,
            },
        )
    return ClassChoice(conflict=tuple(conflict.values()))


def conflict_text(conflict: Sequence[Mapping[str, str | None]]) -> str:
    """The service types of a conflict and their classes, for a person: "Design → class 2, ..."."""
    parts = []
    for entry in conflict:
        name = entry.get("service_type_name") or (
            f"#{entry['service_type_id']}" if entry.get("service_type_id") else "no service type"
        )
        parts.append(f"{name} → " + (f"class {entry['class_id']}" if entry.get("class_id") else "no class"))
    return ", ".join(parts)
