"""The copies that need a human (docs/architecture.md "Changes made in QuickBooks"): voided, deleted or
changed in QuickBooks, credited there, or copied with a total that differed from Productive's."""

from __future__ import annotations

from qbosync.domain.connection import existing
from qbosync.domain.copies import AttentionItem, CopyRepository
from qbosync.domain.ports import ConnectionRepository

ATTENTION_LIMIT = 100


class AttentionService:
    def __init__(self, *, connections: ConnectionRepository, copies: CopyRepository) -> None:
        self._connections = connections
        self._copies = copies

    def list(self, connection_id: str, limit: int = ATTENTION_LIMIT) -> list[AttentionItem]:
        """The most recently flagged first (404 for an unknown connection)."""
        existing(self._connections.get(connection_id))
        return self._copies.attention(connection_id, limit)
