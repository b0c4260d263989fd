"""A faithful local emulator of QuickBooks Online's Accounting API v3 and Intuit OAuth 2.0."""

from local.qbo_emulator.emulator import QboEmulator

__all__ = ["QboEmulator"]
