"""A connected subsidiary with the Productive demo data and item mappings: what the copy tests drive.
The `us` and `uk` fixtures (tests/integration/conftest.py) give one for each QuickBooks company."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Connected, connect


class World:
    def __init__(self, app: Any, stack: Any, productive: Any, realm: str, *, settings: dict[str, Any] | None = None):
        self.app, self.stack, self.productive = app, stack, productive
        self.demo = productive.seed_demo()
        self.realm = realm
        us = stack.emulator.store.require(realm).is_us
        subsidiary = self.demo.subsidiary_us_id if us else self.demo.subsidiary_uk_id
        self.connection: Connected = connect(
            app,
            stack,
            realm_id=realm,
            org=self.demo.organization_id,
            sub=subsidiary,
            productive_token=self.demo.api_token,
        )
        services = self.demo.service_type_ids
        base_settings = {
            "default_item_id": "1",
            "service_type_items": {services["Design"]: "2", services["Development"]: "3"},
            "memo_source": "po_number",
        }
        base_settings.update(settings or {})
        self.configure(**base_settings)

    @property
    def cid(self) -> str:
        return self.connection.connection_id

    def configure(self, **settings: Any) -> dict[str, Any]:
        response = self.app.put(f"/connections/{self.cid}/settings", settings)
        assert response.status_code == 200, response.text
        return response.json()

    def copy(self, invoice_id: str, key: str | None = None, **body: Any) -> Any:
        headers = {"Idempotency-Key": key} if key else None
        return self.app.post(f"/connections/{self.cid}/invoices/{invoice_id}/copies", body, headers=headers)

    def history(self, invoice_id: str) -> list[dict[str, Any]]:
        response = self.app.get(f"/connections/{self.cid}/invoices/{invoice_id}/copies")
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    def qbo_invoices(self, invoice_id: str) -> list[dict[str, Any]]:
        return self.qbo_copies("Invoice", invoice_id)

    def qbo_copies(self, entity: str, invoice_id: str) -> list[dict[str, Any]]:
        """The QuickBooks invoices (or credit memos) copied from one Productive invoice, by their marker."""
        marker = f"qbosync:{self.cid[:8]}:{invoice_id}:"
        realm = self.stack.emulator.store.require(self.realm)
        return [record for record in realm.all(entity) if marker in str(record.get("PrivateNote", ""))]

    def qbo(self, entity: str, entity_id: str) -> dict[str, Any]:
        record = self.stack.emulator.store.require(self.realm).get(entity, entity_id)
        assert record is not None
        return dict(record)
