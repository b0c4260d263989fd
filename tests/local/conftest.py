"""Fixtures for the local stack's own tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local.gateway import LocalGateway

FIXTURE_TEMPLATE = Path(__file__).with_name("fixture_template.yaml")


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalGateway]:
    with LocalGateway(FIXTURE_TEMPLATE, environment={"FIXTURE_OVERRIDE": "from-caller"}) as running:
        yield running
