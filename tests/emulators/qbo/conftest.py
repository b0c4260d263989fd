from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local.qbo_emulator import QboEmulator
from tests.emulators.qbo.helpers import Api, connect


@pytest.fixture
def emu() -> Iterator[QboEmulator]:
    with QboEmulator() as emulator:
        emulator.set_throttling(enabled=False)
        yield emulator


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def us(emu: QboEmulator, http: httpx.Client) -> Api:
    return Api(http, emu, connect(http, emu, emu.US_REALM))


@pytest.fixture
def uk(emu: QboEmulator, http: httpx.Client) -> Api:
    return Api(http, emu, connect(http, emu, emu.UK_REALM))
