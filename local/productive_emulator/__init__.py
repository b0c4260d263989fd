"""A local emulator of Productive's API (JSON:API under /api/v2), for tests and the demo.

See README.md in this folder for what is emulated and which assumptions fill the reference's gaps."""

from local.productive_emulator.control import Faults, LoggedRequest, RateLimiter
from local.productive_emulator.emulator import ProductiveEmulator
from local.productive_emulator.errors import ApiError
from local.productive_emulator.seed import DemoIds

__all__ = ["ApiError", "DemoIds", "Faults", "LoggedRequest", "ProductiveEmulator", "RateLimiter"]
