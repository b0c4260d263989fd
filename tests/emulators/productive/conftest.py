from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local.productive_emulator import DemoIds, ProductiveEmulator

JSONAPI = "application/vnd.api+json"


@pytest.fixture
def emu() -> Iterator[ProductiveEmulator]:
    with ProductiveEmulator() as emulator:
        yield emulator


@pytest.fixture
def demo(emu: ProductiveEmulator) -> DemoIds:
    return emu.seed_demo()


@pytest.fixture
def api(emu: ProductiveEmulator, demo: DemoIds) -> Iterator[httpx.Client]:
    """A plain HTTP client carrying the demo organization's credentials."""
    headers = {"X-Auth-Token": demo.api_token, "X-Organization-Id": demo.organization_id}
    with httpx.Client(base_url=emu.base_url, headers=headers, timeout=10) as client:
        yield client


def doc(
    resource_type: str,
    attributes: dict[str, object],
    relationships: dict[str, object] | None = None,
    resource_id: str | None = None,
) -> dict[str, object]:
    data: dict[str, object] = {"type": resource_type, "attributes": attributes}
    if relationships:
        data["relationships"] = relationships
    if resource_id:
        data["id"] = resource_id
    return {"data": data}


def rel(resource_type: str, resource_id: str) -> dict[str, object]:
    return {"data": {"type": resource_type, "id": resource_id}}
