"""EventBridge Scheduler's part of the local stack: the event a function's schedule sends."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from local.lambda_runtime import ACCOUNT_ID, REGION
from local.template import FunctionSpec, Names, resolve


def schedule_event(
    function: FunctionSpec, names: Names, event_name: str | None = None, *, now: datetime | None = None
) -> Any:
    """The event the function's schedule (ScheduleV2 or Schedule) sends, rendered for `now`."""
    function_id = function.logical_id
    events = function.events_of_type("ScheduleV2", "Schedule")
    if event_name is not None:
        events = [event for event in events if event.name == event_name]
    if not events:
        raise KeyError(f"{function_id} has no schedule {event_name or ''}".strip())
    event = events[0]
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    execution_id = str(uuid.uuid4())
    if event.type == "ScheduleV2":
        arn = f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{function_id}{event.name}"
        raw_input = event.properties.get("Input")
        if raw_input is None:
            return {}
        text = str(resolve(raw_input, names))
        for placeholder, value in {
            "<aws.scheduler.execution-id>": execution_id,
            "<aws.scheduler.scheduled-time>": stamp,
            "<aws.scheduler.schedule-arn>": arn,
            "<aws.scheduler.attempt-number>": "1",
        }.items():
            text = text.replace(placeholder, value)
        return json.loads(text)
    if "Input" in event.properties:
        return json.loads(str(resolve(event.properties["Input"], names)))
    return {
        "version": "0",
        "id": execution_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": stamp,
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{function_id}{event.name}"],
        "detail": {},
    }
