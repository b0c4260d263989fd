"""Per-company (realm) data held in memory.

Records are plain JSON-shaped dicts (money as ``Decimal``) stored per entity name and Id. Each realm
has its own re-entrant lock; handlers take it for the whole read-validate-write step so concurrent
requests see consistent SyncTokens, DocNumbers and names.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from local.qbo_emulator.clock import pacific
from local.qbo_emulator.entities.base import SPECS

Record = dict[str, Any]
SINGLETON_ID = "1"


def id_space(entity: str) -> str:
    """Names (Customer, Vendor, Employee) share one Id sequence in QBO, as do transactions."""
    spec = SPECS.get(entity)
    return spec.id_space if spec is not None and spec.id_space else entity


@dataclass
class CachedResponse:
    """A write's first answer, replayed when the same ``requestid`` comes again."""

    status: int
    body: bytes
    fingerprint: str


@dataclass
class Realm:
    realm_id: str
    country: str  # ISO 2-letter as CompanyInfo.Country: "US", "GB"
    home_currency: str
    tz: tzinfo = field(default_factory=pacific)
    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    deleted: dict[str, dict[str, datetime]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    request_ids: dict[str, CachedResponse] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def is_us(self) -> bool:
        return self.country == "US"

    # Preferences and CompanyInfo are records like any other (queries, CDC), one per company.
    @property
    def preferences(self) -> Record:
        return self.records.setdefault("Preferences", {}).setdefault(SINGLETON_ID, {})

    @preferences.setter
    def preferences(self, value: Record) -> None:
        self.records.setdefault("Preferences", {})[SINGLETON_ID] = value

    @property
    def company_info(self) -> Record:
        return self.records.setdefault("CompanyInfo", {}).setdefault(SINGLETON_ID, {})

    @company_info.setter
    def company_info(self, value: Record) -> None:
        self.records.setdefault("CompanyInfo", {})[SINGLETON_ID] = value

    @property
    def exchange_rates(self) -> dict[str, Decimal]:
        """Each foreign currency's current rate to the home currency (the ExchangeRate records)."""
        return {
            str(rate["SourceCurrencyCode"]): Decimal(rate["Rate"])
            for rate in self.records.get("ExchangeRate", {}).values()
        }

    def today(self, now: datetime) -> date:
        """The company's calendar date at the instant ``now``: what QBO puts in a TxnDate left out."""
        return now.astimezone(self.tz).date()

    def next_id(self, entity: str) -> str:
        space = id_space(entity)
        with self.lock:
            value = self.counters.get(space, 0) + 1
            self.counters[space] = value
            return str(value)

    def reserve_ids(self, entity: str, up_to: int) -> None:
        """Make sure later ids of this entity's space start above ``up_to`` (used by the seed)."""
        space = id_space(entity)
        with self.lock:
            self.counters[space] = max(self.counters.get(space, 0), up_to)

    def get(self, entity: str, object_id: str) -> Record | None:
        return self.records.get(entity, {}).get(str(object_id))

    def put(self, entity: str, record: Record) -> Record:
        self.records.setdefault(entity, {})[str(record["Id"])] = record
        return record

    def remove(self, entity: str, object_id: str, when: datetime) -> None:
        self.records.get(entity, {}).pop(str(object_id), None)
        self.deleted.setdefault(entity, {})[str(object_id)] = when

    def all(self, entity: str) -> list[Record]:
        return list(self.records.get(entity, {}).values())

    def snapshot(self, entity: str, object_id: str) -> Record | None:
        with self.lock:
            record = self.get(entity, object_id)
            return copy.deepcopy(record) if record is not None else None


class Store:
    """All realms of one emulator instance."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._realms: dict[str, Realm] = {}

    def add(self, realm: Realm) -> Realm:
        with self._lock:
            self._realms[realm.realm_id] = realm
        return realm

    def get(self, realm_id: str) -> Realm | None:
        with self._lock:
            return self._realms.get(realm_id)

    def require(self, realm_id: str) -> Realm:
        realm = self.get(realm_id)
        if realm is None:
            raise KeyError(f"unknown realm {realm_id}")
        return realm

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._realms)
