"""The sample events (events/README.md) as `sam local invoke` takes them, and the shape each function's
trigger gives its handler: Powertools' parser model for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from local.template import REPO_ROOT, FunctionSpec

EVENTS_DIR = REPO_ROOT / "events"
WEBHOOK_PATH = "/webhooks/intuit"  # signed by Intuit (intuit-signature), not with the app signing secret
BROWSER_PATH_PREFIX = "/oauth/"  # opened by the user's browser: unsigned


def event_files(function: FunctionSpec) -> list[Path]:
    """The function's sample events: events/<its functions/ directory>/*.json."""
    return sorted((EVENTS_DIR / Path(function.code_uri).name).glob("*.json"))


def read_event(path: Path | str) -> dict[str, Any]:
    event = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(event, dict):
        raise ValueError(f"{path} is not a JSON object")
    return event


def is_http_event(event: dict[str, Any]) -> bool:
    return event.get("version") == "2.0" and "requestContext" in event


def needs_signature(event: dict[str, Any]) -> bool:
    """Whether the handler checks a signature on this event: every HTTP API route but the browser's."""
    return is_http_event(event) and not str(event.get("rawPath", "")).startswith(BROWSER_PATH_PREFIX)


def input_model(function: FunctionSpec) -> type[BaseModel]:
    """Powertools' model of the event the function's trigger (template Events) sends."""
    from aws_lambda_powertools.utilities.parser.models import (
        APIGatewayProxyEventV2Model,
        EventBridgeModel,
        SqsModel,
    )

    models: dict[str, type[BaseModel]] = {
        "HttpApi": APIGatewayProxyEventV2Model,
        "SQS": SqsModel,
        "ScheduleV2": EventBridgeModel,  # our schedules' Input is shaped as an EventBridge event (template.yaml)
        "Schedule": EventBridgeModel,
    }
    kinds = {models[event.type] for event in function.events if event.type in models}
    if len(kinds) != 1:
        found = sorted(kind.__name__ for kind in kinds)
        raise ValueError(f"{function.logical_id}: expected one kind of trigger, found {found}")
    return kinds.pop()
