"""Entity specs and behaviour (validation, computed fields) per QBO entity."""

from local.qbo_emulator.entities.base import BY_PATH, BY_WIRE, SPECS, EntitySpec, render, shown

__all__ = ["BY_PATH", "BY_WIRE", "SPECS", "EntitySpec", "render", "shown"]
