"""What travels on the payment events queue: one change of one QuickBooks entity, normalised from
either webhook format (legacy eventNotifications or CloudEvents) or from a CDC sweep.

The event says only *that* something changed: the worker reads the entity's current state from
QuickBooks, so the order and duplicates of events do not matter."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Operation = Literal["create", "update", "delete", "void", "merge", "emailed"]


class EntityEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    realm_id: str = Field(min_length=1, max_length=32)
    entity: str = Field(min_length=1, max_length=40, description="QuickBooks entity name, e.g. Payment, Invoice")
    entity_id: str = Field(min_length=1, max_length=40)
    operation: Operation
    occurred_at: datetime
    event_id: str = Field(min_length=1, max_length=200, description="CloudEvents id, or a digest for legacy events")
    source: Literal["webhook", "reconcile"] = "webhook"
